"""Running one job in this process: claim it, keep its heartbeat, call its function, record the outcome.

Runners (worker/) call `execute_job`; it never raises, whatever the job function does.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

from sqlalchemy import func, select, update

from tessera.core import clock
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.context import JobCancelled, JobContext, JobInterrupted
from tessera.jobs.models import Job, JobStatus
from tessera.jobs.registry import get_job_function

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 20_000


def execute_job(
    database: Database,
    job_id: int,
    *,
    worker: str,
    settings: Settings,
    stopping: threading.Event | None = None,
) -> JobStatus | None:
    """Run the job if it is still queued. Returns its final status, or None when another runner had it.
    When `stopping` is set (the process shuts down) the job stops at its next progress report and goes
    back to the queue for any runner to take."""
    context = _claim(database, job_id, worker, settings, stopping or threading.Event())
    if context is None:
        return None
    stop_heartbeat = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(context, stop_heartbeat, settings.job_heartbeat_seconds),
        daemon=True,
        name=f"tessera-heartbeat-{job_id}",
    )
    beat.start()
    try:
        result = get_job_function(context.kind)(context)
    except JobCancelled:
        return _end(context, status=JobStatus.cancelled, message="cancelled")
    except JobInterrupted:
        return _end(
            context,
            status=JobStatus.queued,
            message="interrupted by a shutdown; queued again",
            finished=False,
        )
    except Exception as error:
        log.exception("job %s (%s) failed", job_id, context.kind)
        detail = "".join(traceback.format_exception(error))[-MAX_ERROR_CHARS:]
        return _end(context, status=JobStatus.failed, message=f"failed: {error}"[:500], error=detail)
    finally:
        stop_heartbeat.set()
        beat.join()
    return _end(context, status=JobStatus.succeeded, message="done", result=result)


def _claim(
    database: Database, job_id: int, worker: str, settings: Settings, stopping: threading.Event
) -> JobContext | None:
    with database.write() as session:
        moment = clock.now()
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(
                status=JobStatus.running,
                started_at=moment,
                heartbeat_at=moment,
                worker=worker[:200],
                attempts=Job.attempts + 1,
                message="running",
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        job = session.scalars(select(Job).where(Job.id == job_id)).one()
        return JobContext(
            job_id=job.id,
            attempt=job.attempts,
            kind=job.kind,
            params=dict(job.params),
            project_id=job.project_id,
            database=database,
            settings=settings,
            worker=worker,
            stopping=stopping,
        )


def _heartbeat(context: JobContext, stop: threading.Event, every: float) -> None:
    """Record that the job is alive and notice a cancel request, until the job ends. A beat that finds
    the job no longer this run's (failed as stale, taken by another runner) stops the run."""
    while not stop.wait(every):
        try:
            with context.database.write() as session:
                beat = session.execute(update(Job).where(context.owns_row()).values(heartbeat_at=clock.now()))
                lost = beat.rowcount != 1  # type: ignore[attr-defined]
                asked = session.scalar(select(Job.cancel_requested).where(Job.id == context.job_id))
            if lost or asked:
                context.cancel_event.set()
        except Exception:  # a missed beat is retried at the next one
            log.warning("heartbeat of job %s failed", context.job_id, exc_info=True)


def _end(
    context: JobContext,
    *,
    status: JobStatus,
    message: str,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    finished: bool = True,
) -> JobStatus:
    """Record how the run ended, if the job is still this run's; return the job's status either way."""
    values: dict[str, Any] = {"status": status, "message": message}
    if finished:
        values["finished_at"] = clock.now()
    else:
        values["heartbeat_at"] = None
    if error is not None:
        values["error"] = error
    if result is not None:
        values["result"] = result
    if status == JobStatus.succeeded:  # a finished job reads done == total, when a total was known
        values["progress_done"] = func.coalesce(Job.progress_total, Job.progress_done)
    with context.database.write() as session:
        session.execute(update(Job).where(context.owns_row()).values(**values))
        final = session.scalar(select(Job.status).where(Job.id == context.job_id))
    return JobStatus(final) if final is not None else status


def fail_unfinished(database: Database, job_id: int, message: str) -> bool:
    """Fail a job whose process died before recording how its run ended, or before claiming it (still
    queued: nothing else would hand it over soon); whether it was unfinished."""
    with database.write() as session:
        failed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_([JobStatus.running, JobStatus.queued]))
            .values(status=JobStatus.failed, message=message[:500], error=message, finished_at=clock.now())
        )
        return bool(failed.rowcount == 1)  # type: ignore[attr-defined]
