"""The in-process runner: jobs run in a thread pool of the process that created them (the default), at a
lower CPU priority than the process's labeling requests (Linux lets one thread's nice value differ from
the others'; the threads a job starts — image decoding, ONNX Runtime's pool — inherit it)."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.execution import execute_job
from tessera.jobs.models import Job, JobStatus
from tessera.jobs.registry import runs_in_own_process
from tessera.worker.child_process import run_in_child

log = logging.getLogger(__name__)


def lower_thread_priority(niceness: int) -> None:
    """Raise the calling thread's nice value by `niceness` (Linux only: elsewhere a thread id is no
    process id to `setpriority`, and nothing is done)."""
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))
    except OSError as error:  # a container may forbid it: the jobs then run at the requests' priority
        log.warning("job threads keep the server's CPU priority: %s", error)


class ThreadPoolRunner:
    name = "in-process"

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=settings.job_threads,
            thread_name_prefix="tessera-job",
            initializer=lower_thread_priority,
            initargs=(settings.job_niceness,),
        )
        self._worker = f"{socket.gethostname()}:{os.getpid()}:threads"
        self._stopping = threading.Event()

    def submit(self, job_id: int) -> None:
        self._executor.submit(self.run, job_id)

    def run(self, job_id: int) -> JobStatus | None:
        if self._settings.job_child_process:
            with self._database.read() as session:
                job = session.get(Job, job_id)
                kind = job.kind if job is not None and job.status == JobStatus.queued else None
            if kind is not None and runs_in_own_process(kind):
                run_in_child(self._settings, self._database, job_id, self._stopping, self.submit)
                return None
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
