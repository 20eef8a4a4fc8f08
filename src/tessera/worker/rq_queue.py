"""The RQ runner: jobs go to a Redis queue and run in `tessera worker` processes, on any machine.

The Redis message carries only the job id; the job's row in the database is the truth. RQ's own timeout is
off (our heartbeat tells a dead job from a long one) and RQ keeps no results (they live on the row).
"""

from __future__ import annotations

import logging
import os
import socket

from redis import Redis
from rq import Queue, SimpleWorker

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.execution import execute_job
from tessera.jobs.models import JobStatus

log = logging.getLogger(__name__)

# The database of this worker process, set by `serve_queue` before RQ starts calling `run_queued_job`.
_worker_database: Database | None = None
_worker_settings: Settings | None = None


class RQRunner:
    name = "rq"

    def __init__(self, redis_url: str, queue_name: str) -> None:
        self._redis = Redis.from_url(redis_url)
        self._queue = Queue(queue_name, connection=self._redis)

    def submit(self, job_id: int) -> None:
        self._queue.enqueue(
            run_queued_job,
            job_id,
            job_timeout=-1,
            result_ttl=0,
            failure_ttl=24 * 3600,
            description=f"tessera job {job_id}",
        )

    def close(self) -> None:
        self._redis.close()


def run_queued_job(job_id: int) -> str | None:
    """What an RQ worker calls for each message."""
    if _worker_database is None or _worker_settings is None:
        raise RuntimeError("run_queued_job runs inside `tessera worker` only")
    worker = f"{socket.gethostname()}:{os.getpid()}:rq"
    status: JobStatus | None = execute_job(_worker_database, job_id, worker=worker, settings=_worker_settings)
    return status.value if status is not None else None


def serve_queue(settings: Settings, database: Database, *, burst: bool = False) -> None:
    """Run an RQ worker on the settings' queue in this process until stopped (or until empty, `burst`)."""
    global _worker_database, _worker_settings
    if not settings.redis_url:
        raise RuntimeError("tessera worker needs TESSERA_REDIS_URL")
    _worker_database, _worker_settings = database, settings
    connection = Redis.from_url(settings.redis_url)
    worker = SimpleWorker([Queue(settings.rq_queue, connection=connection)], connection=connection)
    worker.work(burst=burst, logging_level=settings.log_level.upper())
