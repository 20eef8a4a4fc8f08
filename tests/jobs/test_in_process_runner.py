"""Real jobs through the in-process runner: progress, success, failure, retry, cancel, stale heartbeats,
and enqueue-after-commit."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from tessera.accounts.models import WorkspaceRole
from tessera.core import clock
from tessera.core.errors import Invalid
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.execution import execute_job
from tessera.jobs.models import Job, JobStatus
from tessera.jobs.runner import attach_runner
from tessera.jobs.service import cancel_job, create_job, retry_job
from tessera.worker.child_process import settings_payload
from tessera.worker.runtime import Runtime
from tessera.worker.scheduler import run_scheduler_once
from tessera.worker.thread_pool import ThreadPoolRunner
from tests.support.factories import bearer, make_token, make_user
from tests.support.polling import wait_for


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    with db.write() as session:
        return bearer(make_token(session, make_user(session, role=WorkspaceRole.admin)))


@pytest.fixture
def one_thread(settings: Settings) -> Settings:
    return settings.model_copy(update={"job_threads": 1, "job_heartbeat_seconds": 0.1})


def _job(client: TestClient, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job_id}", headers=headers)
    assert response.status_code == 200
    return dict(response.json())


def _until(client: TestClient, headers: dict[str, str], job_id: int, *statuses: str) -> dict[str, Any]:
    return wait_for(
        lambda: _job(client, headers, job_id), lambda job: job["status"] in statuses, what=str(statuses)
    )


def _start(db: Database, kind: str, **params: Any) -> int:
    with db.write() as session:
        return create_job(session, kind=kind, params=params).id


def test_a_system_check_runs_and_reports_progress(client: TestClient, admin: dict[str, str]) -> None:
    started = client.post("/api/jobs/system-check", json={"steps": 5, "step_seconds": 0.01}, headers=admin)
    assert started.status_code == 201
    assert started.json()["status"] == "queued"
    job = _until(client, admin, started.json()["id"], "succeeded")
    assert (job["progress_done"], job["progress_total"]) == (5, 5)
    assert job["result"]["steps"] == 5
    assert job["worker"].endswith(":threads")
    assert job["attempts"] == 1
    assert job["started_at"] and job["finished_at"] and job["heartbeat_at"]


def test_a_failing_job_records_the_error_and_can_be_retried(
    client: TestClient, admin: dict[str, str], runtime: Runtime
) -> None:
    job_id = _start(runtime.database, "test.fail")
    failed = _until(client, admin, job_id, "failed")
    assert "boom" in failed["message"]
    assert "ValueError: boom" in failed["error"]  # the traceback
    assert client.post(f"/api/jobs/{job_id}/retry", headers=admin).json()["status"] in (
        "queued",
        "running",
        "failed",
    )
    again = _until(client, admin, job_id, "failed")
    assert again["attempts"] == 2
    refused = client.post(f"/api/jobs/{job_id}/cancel", headers=admin)
    assert refused.status_code == 409


def test_jobs_are_listed_by_kind_stage_and_status(
    client: TestClient, admin: dict[str, str], runtime: Runtime
) -> None:
    failed = _start(runtime.database, "test.fail")
    _until(client, admin, failed, "failed")
    checked = client.post(
        "/api/jobs/system-check", json={"steps": 1, "step_seconds": 0}, headers=admin
    ).json()
    _until(client, admin, checked["id"], "succeeded")

    def listed(query: str) -> list[int]:
        response = client.get(f"/api/jobs?{query}", headers=admin)
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["items"]]

    assert listed("kind=test.fail") == [failed]
    assert failed in listed("kind=test") and checked["id"] not in listed("kind=test")
    assert listed("kind=system") == [checked["id"]]
    assert listed("status=failed") == [failed] and listed("kind=test&status=succeeded") == []
    assert listed("") == [checked["id"], failed]
    refused = client.get("/api/jobs?kind=nope", headers=admin)
    assert refused.status_code == 422 and refused.json()["details"]["errors"][0]["field"] == "kind"
    assert "system.check" in refused.json()["message"]
    assert client.get("/api/jobs?status=lost", headers=admin).status_code == 422


def test_a_running_job_can_be_cancelled(client: TestClient, admin: dict[str, str], runtime: Runtime) -> None:
    job_id = _start(runtime.database, "test.wait", steps=400, step_seconds=0.02)
    _until(client, admin, job_id, "running")
    response = client.post(f"/api/jobs/{job_id}/cancel", headers=admin)
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    cancelled = _until(client, admin, job_id, "cancelled")
    assert cancelled["progress_done"] < 400
    retried = client.post(f"/api/jobs/{job_id}/retry", headers=admin)
    assert retried.status_code == 200
    assert retried.json()["cancel_requested"] is False


@contextmanager
def _running(db: Database, settings: Settings) -> Iterator[ThreadPoolRunner]:
    """An in-process runner attached to `db` until the block ends (then closed: running jobs stop)."""
    runner = ThreadPoolRunner(db, settings)
    attach_runner(db, runner)
    try:
        yield runner
    finally:
        runner.close()
        attach_runner(db, None)


def _status(db: Database, job_id: int) -> Job:
    with db.read() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_queued_job_is_cancelled_at_once_and_never_runs(db: Database, one_thread: Settings) -> None:
    runner = ThreadPoolRunner(db, one_thread)
    attach_runner(db, runner)
    try:
        blocker = _start(db, "test.wait", steps=20, step_seconds=0.02)  # holds the only thread
        waiting = _start(db, "test.noop")
        with db.write() as session:
            job = session.get(Job, waiting)
            assert job is not None
            assert cancel_job(session, job).status == JobStatus.cancelled
        wait_for(
            lambda: _status(db, blocker).status, lambda status: status == JobStatus.succeeded, what="blocker"
        )
    finally:
        runner.close()
        attach_runner(db, None)
    never = _status(db, waiting)
    assert (never.status, never.started_at, never.attempts) == (JobStatus.cancelled, None, 0)


def test_a_shutdown_interrupts_running_jobs_and_queues_them_again(db: Database, one_thread: Settings) -> None:
    """`tessera serve` stopping must not wait for a long job: the job goes back to the queue instead."""
    first = ThreadPoolRunner(db, one_thread)
    attach_runner(db, first)
    job_id = _start(db, "test.wait", steps=200, step_seconds=0.02)
    wait_for(lambda: _status(db, job_id).progress_done, lambda done: done >= 2, what="progress")
    first.close()
    interrupted = _status(db, job_id)
    assert interrupted.status == JobStatus.queued
    assert "interrupted" in interrupted.message
    second = ThreadPoolRunner(db, one_thread)
    attach_runner(db, second)
    try:
        second.submit(job_id)
        finished = wait_for(
            lambda: _status(db, job_id), lambda job: job.status.finished, timeout=30, what="rerun"
        )
    finally:
        second.close()
        attach_runner(db, None)
    assert (finished.status, finished.attempts, finished.progress_done) == (JobStatus.succeeded, 2, 200)


def test_a_job_whose_heartbeat_stopped_is_failed_and_can_be_retried(
    client: TestClient, admin: dict[str, str], runtime: Runtime, settings: Settings
) -> None:
    """As if the process running it had died: running, with a heartbeat long past."""
    long_ago = clock.now() - timedelta(hours=1)
    with runtime.database.write() as session:
        job = Job(
            kind="test.noop", status=JobStatus.running, params={}, started_at=long_ago, heartbeat_at=long_ago
        )
        session.add(job)
    outcome = run_scheduler_once(runtime.database, settings)
    assert outcome["failed"] == [job.id]
    failed = _job(client, admin, job.id)
    assert failed["status"] == "failed"
    assert "stopped" in failed["message"]
    client.post(f"/api/jobs/{job.id}/retry", headers=admin)
    assert _until(client, admin, job.id, "succeeded")["attempts"] == 1


def test_a_live_job_keeps_its_heartbeat_and_is_not_failed(
    client: TestClient, admin: dict[str, str], runtime: Runtime, settings: Settings
) -> None:
    job_id = _start(runtime.database, "test.wait", steps=1, step_seconds=3.0)  # no progress for 3 s
    first = _until(client, admin, job_id, "running")["heartbeat_at"]
    later = wait_for(
        lambda: _job(client, admin, job_id)["heartbeat_at"], lambda beat: beat != first, what="a beat"
    )
    assert later > first
    assert run_scheduler_once(runtime.database, settings)["failed"] == []


def test_waiting_jobs_lost_by_their_runner_are_handed_over_again(
    client: TestClient, admin: dict[str, str], runtime: Runtime, settings: Settings
) -> None:
    with runtime.database.write() as session:  # queued long ago, never handed to any runner
        job = Job(
            kind="test.noop", status=JobStatus.queued, params={}, created_at=clock.now() - timedelta(hours=1)
        )
        session.add(job)
    assert run_scheduler_once(runtime.database, settings)["resubmitted"] == [job.id]
    assert run_scheduler_once(runtime.database, settings)["resubmitted"] == []  # once per stale interval
    assert _until(client, admin, job.id, "succeeded")["attempts"] == 1


def test_a_run_that_lost_its_job_stops_and_overwrites_nothing(db: Database, one_thread: Settings) -> None:
    """Run 1's heartbeats were missed long enough for the reaper to fail the job, and a retry started
    run 2. Run 1 must stop at once and write nothing over run 2's row."""
    with db.write() as session:
        job = Job(kind="test.wait", status=JobStatus.queued, params={"steps": 60, "step_seconds": 0.02})
        session.add(job)
    first_outcome: list[JobStatus | None] = []
    first = threading.Thread(
        target=lambda: first_outcome.append(execute_job(db, job.id, worker="run-1", settings=one_thread))
    )
    first.start()
    wait_for(lambda: _status(db, job.id).progress_done, lambda done: done >= 2, what="run 1 progress")
    with db.write() as session:  # what fail_stale_jobs does once the beats stop
        session.execute(update(Job).where(Job.id == job.id).values(status=JobStatus.failed, message="stale"))
    second = ThreadPoolRunner(db, one_thread)
    attach_runner(db, second)
    try:
        with db.write() as session:
            retry_job(session, session.get(Job, job.id))  # type: ignore[arg-type]
        first.join(timeout=10)
        assert not first.is_alive()
        final = wait_for(
            lambda: _status(db, job.id), lambda row: row.status.finished, timeout=30, what="run 2"
        )
    finally:
        second.close()
        attach_runner(db, None)
    assert final.status == JobStatus.succeeded
    assert final.attempts == 2
    assert final.result == {"steps": 60, "worker": final.worker, "attempt": 2}
    assert final.progress_done == 60


class SpyRunner:
    """Wraps the real runner and notes, at each submit, whether the job's row is visible to others."""

    name = "spy"

    def __init__(self, database: Database, inner: ThreadPoolRunner) -> None:
        self.database, self.inner, self.seen = database, inner, []  # type: ignore[var-annotated]

    def submit(self, job_id: int) -> None:
        with self.database.read() as session:
            self.seen.append((job_id, session.scalar(select(Job.id).where(Job.id == job_id)) is not None))
        self.inner.submit(job_id)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def spy(db: Database, one_thread: Settings) -> Iterator[SpyRunner]:
    runner = SpyRunner(db, ThreadPoolRunner(db, one_thread))
    attach_runner(db, runner)
    yield runner
    runner.close()
    attach_runner(db, None)


def test_jobs_reach_the_runner_only_after_their_commit(db: Database, spy: SpyRunner) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        create_job(session, kind="test.noop")
        raise RuntimeError("roll back")
    assert spy.seen == []
    with db.write() as session:
        job_id = create_job(session, kind="test.noop").id
        assert spy.seen == []  # not inside the transaction
    assert spy.seen == [(job_id, True)]


def test_an_unknown_job_kind_is_refused(db: Database, spy: SpyRunner) -> None:
    with pytest.raises(Invalid, match="unknown job kind"), db.write() as session:
        create_job(session, kind="no.such.kind")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_jobs_run_at_a_lower_cpu_priority_than_the_requests(db: Database, one_thread: Settings) -> None:
    """Featurizing must not slow labelers: the job thread, and the threads it starts, are niced."""
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with _running(db, one_thread.model_copy(update={"job_niceness": 5})):
        job_id = _start(db, "test.priority")
        done = wait_for(
            lambda: _status(db, job_id), lambda job: job.status == JobStatus.succeeded, what="job"
        )
    assert done.result == {"job": min(19, own + 5), "child": min(19, own + 5)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own  # the caller's is untouched


def test_a_job_kind_that_asks_for_its_own_process_runs_in_a_child_at_low_priority(
    db: Database, one_thread: Settings
) -> None:
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with _running(db, one_thread.model_copy(update={"job_niceness": 5})):
        job_id = _start(db, "test.own_process")
        done = wait_for(
            lambda: _status(db, job_id), lambda job: job.status == JobStatus.succeeded, what="job"
        )
    assert done.result is not None
    assert done.result["pid"] != os.getpid()
    assert done.result["worker"].endswith(f":{done.result['pid']}:child")
    assert done.result["nice"] == min(19, own + 5)


def test_a_child_that_dies_fails_its_job_with_the_exit_code(db: Database, one_thread: Settings) -> None:
    with _running(db, one_thread):
        job_id = _start(db, "test.own_process", exit_code=3)
        done = wait_for(
            lambda: _status(db, job_id), lambda job: job.status == JobStatus.failed, what="failure"
        )
    assert "exit code 3" in (done.message or "")


def test_a_shutdown_puts_a_child_processs_job_back_in_the_queue(db: Database, one_thread: Settings) -> None:
    with _running(db, one_thread):  # the child gets SIGTERM and stops at its next progress report
        job_id = _start(db, "test.own_process", steps=400)  # 20 s unless stopped
        wait_for(lambda: _status(db, job_id), lambda job: job.progress_done > 0, what="progress")
    back = _status(db, job_id)
    assert back.status == JobStatus.queued and "interrupted" in (back.message or "")
    assert back.progress_done < 400


def test_the_settings_reach_the_child_with_their_secrets(settings: Settings) -> None:
    secret = settings.model_copy(update={"secret_key": SecretStr("a long secret key for the child")})
    rebuilt = Settings(**json.loads(settings_payload(secret)))
    assert rebuilt.secret_key is not None
    assert rebuilt.secret_key.get_secret_value() == "a long secret key for the child"
    assert rebuilt.data_dir == secret.data_dir
    assert rebuilt.resolved_database_url() == secret.resolved_database_url()


def test_the_child_uses_the_parents_database_whatever_the_settings_name(
    db: Database, one_thread: Settings, tmp_path: Path
) -> None:
    elsewhere = one_thread.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'other.db'}"})
    with _running(db, elsewhere):
        job_id = _start(db, "test.own_process")
        done = wait_for(
            lambda: _status(db, job_id),
            lambda job: job.status != JobStatus.queued and job.finished_at,
            what="end",
        )
    assert done.status == JobStatus.succeeded, done.error


def test_a_child_that_cannot_start_fails_the_job_it_never_claimed(db: Database, one_thread: Settings) -> None:
    broken = one_thread.model_copy(update={"job_modules": ["tests.support.no_such_module"]})
    with _running(db, broken):
        job_id = _start(db, "test.own_process")
        done = wait_for(
            lambda: _status(db, job_id), lambda job: job.status == JobStatus.failed, what="failure"
        )
    assert "exit code 1" in (done.message or "") and done.attempts == 0
