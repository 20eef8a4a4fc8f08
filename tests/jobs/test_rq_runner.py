"""Real jobs through RQ: a real Redis, real `tessera worker` processes, one of them killed mid-job."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis import Redis

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.models import Job, JobStatus
from tessera.jobs.service import cancel_job, create_job, retry_job
from tessera.worker.runtime import Runtime
from tessera.worker.scheduler import run_scheduler_once
from tests.support.polling import wait_for
from tests.support.processes import stop, tessera_process

pytestmark = pytest.mark.redis


@dataclass
class Queue:
    settings: Settings
    runtime: Runtime
    env: dict[str, str]

    def start_worker(self, *, burst: bool = False) -> subprocess.Popen[str]:
        return tessera_process(["worker", *(["--burst"] if burst else [])], self.env)


@pytest.fixture
def queue(db: Database, settings: Settings, redis_url: str) -> Iterator[Queue]:
    name = f"tessera-test-{uuid.uuid4().hex[:12]}"
    rq_settings = settings.model_copy(update={"redis_url": redis_url, "rq_queue": name})
    active = Runtime.start(rq_settings, database=db, scheduler=False)
    env = {
        "TESSERA_DATABASE_URL": rq_settings.resolved_database_url(),
        "TESSERA_DATA_DIR": str(settings.data_dir),
        "TESSERA_REDIS_URL": redis_url,
        "TESSERA_RQ_QUEUE": name,
        "TESSERA_JOB_HEARTBEAT_SECONDS": "0.2",
        "TESSERA_JOB_STALE_AFTER_SECONDS": "2",
        "TESSERA_JOB_MODULES": '["tests.support.sample_jobs"]',
    }
    yield Queue(rq_settings, active, env)
    active.stop()
    connection = Redis.from_url(redis_url)
    for key in connection.scan_iter(f"*{name}*"):
        connection.delete(key)


def _start(queue: Queue, kind: str, **params: Any) -> int:
    with queue.runtime.database.write() as session:
        return create_job(session, kind=kind, params=params).id


def _job(queue: Queue, job_id: int) -> Job:
    with queue.runtime.database.read() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _until(queue: Queue, job_id: int, *statuses: JobStatus, timeout: float = 30) -> Job:
    return wait_for(
        lambda: _job(queue, job_id),
        lambda job: job.status in statuses,
        timeout=timeout,
        what=f"job {job_id} to be {statuses}",
    )


def test_jobs_wait_in_redis_until_a_worker_runs_them(queue: Queue) -> None:
    succeeding = _start(queue, "system.check", steps=3, step_seconds=0.01)
    failing = _start(queue, "test.fail")
    assert _job(queue, succeeding).status == JobStatus.queued  # nobody is working yet
    worker = queue.start_worker(burst=True)
    worker.wait(timeout=60)
    output = worker.stdout.read() if worker.stdout else ""
    done = _job(queue, succeeding)
    assert done.status == JobStatus.succeeded, output
    assert done.worker is not None and done.worker.endswith(":rq")
    assert (done.progress_done, done.progress_total) == (3, 3)
    failed = _job(queue, failing)
    assert failed.status == JobStatus.failed
    assert "boom" in (failed.error or "")


def test_a_killed_worker_leaves_a_failed_job_that_a_retry_finishes(queue: Queue) -> None:
    job_id = _start(queue, "test.wait", steps=40, step_seconds=0.05)
    worker = queue.start_worker()
    try:
        wait_for(lambda: _job(queue, job_id), lambda job: job.progress_done >= 3, timeout=30, what="progress")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop(worker)
    assert _job(queue, job_id).status == JobStatus.running  # nobody has noticed yet
    failed = wait_for(
        lambda: (run_scheduler_once(queue.runtime.database, queue.settings), _job(queue, job_id))[1],
        lambda job: job.status == JobStatus.failed,
        timeout=15,
        what="the stale job to be failed",
    )
    assert "stopped" in failed.message
    with queue.runtime.database.write() as session:
        retry_job(session, session.get(Job, job_id))  # type: ignore[arg-type]
    second = queue.start_worker(burst=True)
    second.wait(timeout=60)
    finished = _until(queue, job_id, JobStatus.succeeded)
    assert finished.attempts == 2
    assert finished.progress_done == 40


def test_a_running_job_is_cancelled_through_the_database(queue: Queue) -> None:
    job_id = _start(queue, "test.wait", steps=400, step_seconds=0.02)
    worker = queue.start_worker()
    try:
        _until(queue, job_id, JobStatus.running)
        with queue.runtime.database.write() as session:
            cancel_job(session, session.get(Job, job_id))  # type: ignore[arg-type]
        cancelled = _until(queue, job_id, JobStatus.cancelled)
        assert cancelled.progress_done < 400
    finally:
        stop(worker)
