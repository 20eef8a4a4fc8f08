"""The in-process runner: jobs run in a thread pool of the process that created them (the default)."""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.execution import execute_job
from tessera.jobs.models import JobStatus


class ThreadPoolRunner:
    name = "in-process"

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=settings.job_threads, thread_name_prefix="tessera-job"
        )
        self._worker = f"{socket.gethostname()}:{os.getpid()}:threads"
        self._stopping = threading.Event()

    def submit(self, job_id: int) -> None:
        self._executor.submit(self.run, job_id)

    def run(self, job_id: int) -> JobStatus | None:
        return execute_job(
            self._database,
            job_id,
            worker=self._worker,
            settings=self._settings,
            stopping=self._stopping,
        )

    def close(self) -> None:
        """Interrupt running jobs at their next progress report (they are queued again) and drop the
        submissions not yet started (their rows stay queued; the scheduler hands them over again)."""
        self._stopping.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
