"""What a running job function gets: its parameters, a database, progress reporting and cancellation."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, update

from tessera.core import clock
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.models import Job, JobStatus

PROGRESS_WRITE_INTERVAL_S = 0.5


class JobCancelled(Exception):
    """Raised inside a job function when a cancel was asked for; the job ends as cancelled."""


class JobInterrupted(Exception):
    """Raised inside a job function when the process running it is stopping; the job is queued again."""


@dataclass
class JobContext:
    job_id: int
    attempt: int  # the `attempts` value of this run's claim: every write of the run is guarded by it
    kind: str
    params: dict[str, Any]
    project_id: int | None
    database: Database
    settings: Settings  # the settings of the process running the job
    worker: str
    cancel_event: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    _last_write: float = 0.0

    def owns_row(self) -> ColumnElement[bool]:
        """The WHERE clause of every write this run makes: the job is still running, as this attempt.
        A run whose job was failed as stale and claimed again by another runner writes nothing."""
        return and_(Job.id == self.job_id, Job.status == JobStatus.running, Job.attempts == self.attempt)

    def check_cancelled(self) -> None:
        """Stop here if a cancel was asked for, or if this process is shutting down."""
        if self.cancel_event.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")
        if self.stopping.is_set():
            raise JobInterrupted(f"job {self.job_id} was interrupted: its process is stopping")

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress (at most twice a second, and always at the end) and stop here if cancelled."""
        self.check_cancelled()
        moment = time.monotonic()
        if moment - self._last_write < PROGRESS_WRITE_INTERVAL_S and (total is None or done < total):
            return
        self._last_write = moment
        values: dict[str, Any] = {"progress_done": done, "heartbeat_at": clock.now()}
        if total is not None:
            values["progress_total"] = total
        if message is not None:
            values["message"] = message[:500]
        with self.database.write() as session:
            written = session.execute(update(Job).where(self.owns_row()).values(**values))
        if written.rowcount != 1:  # type: ignore[attr-defined]
            self.cancel_event.set()  # the job is no longer ours: stop
            raise JobCancelled(f"job {self.job_id} was taken over (failed as stale, or retried elsewhere)")
