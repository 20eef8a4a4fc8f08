"""The job state machine: queued → running → succeeded | failed | cancelled; failed/cancelled → queued.

Every transition is one UPDATE guarded by the state it leaves, so two processes never both move a job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Invalid, NotFound
from tessera.db.session import on_commit
from tessera.jobs.models import Job, JobStatus
from tessera.jobs.registry import get_job_function, registered_kinds
from tessera.jobs.runner import runner_for


def create_job(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    project_id: int | None = None,
    created_by_id: int | None = None,
) -> Job:
    """Insert a queued job; its runner gets it only after this transaction commits."""
    get_job_function(kind)  # refuse unknown kinds now, not in a worker later
    job = Job(
        kind=kind,
        params=params or {},
        project_id=project_id,
        created_by_id=created_by_id,
        status=JobStatus.queued,
        message="queued",
    )
    session.add(job)
    session.flush()
    _submit_after_commit(session, job.id)
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def list_jobs(
    session: Session,
    *,
    project_id: int | None,
    every_project: bool = False,
    before_id: int | None = None,
    limit: int = 50,
    kind: str | None = None,
    status: JobStatus | None = None,
) -> Sequence[Job]:
    """Newest first: a project's jobs, the workspace's own (project_id None), or all of them; `kind` a
    job kind (`ml.train`) or a stage (`ml`: every `ml.…` kind), `status` one status."""
    query = select(Job)
    if not every_project:
        query = query.where(
            Job.project_id == project_id if project_id is not None else Job.project_id.is_(None)
        )
    if kind is not None:
        query = query.where(_kind_filter(kind))
    if status is not None:
        query = query.where(Job.status == status)
    if before_id is not None:
        query = query.where(Job.id < before_id)
    return session.scalars(query.order_by(Job.id.desc()).limit(limit)).all()


def _kind_filter(kind: str) -> ColumnElement[bool]:
    kinds = registered_kinds()
    if kind in kinds:
        return Job.kind == kind
    stage = f"{kind}."
    if any(known.startswith(stage) for known in kinds):
        return Job.kind.in_([known for known in kinds if known.startswith(stage)])
    stages = sorted({known.split(".", 1)[0] for known in kinds})
    raise Invalid(
        f"is not a job kind or stage (kinds: {', '.join(kinds)}; stages: {', '.join(stages)})", field="kind"
    )


def cancel_job(session: Session, job: Job) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop at its next progress report."""
    if job.status.finished:
        raise Conflict(f"job {job.id} already {job.status.value}", details={"status": job.status.value})
    if not _move(
        session, job.id, JobStatus.queued, JobStatus.cancelled, message="cancelled before it started"
    ):
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.running)
            .values(cancel_requested=True, message="cancelling")
        )
    session.refresh(job)
    return job


def retry_job(session: Session, job: Job) -> Job:
    if job.status not in (JobStatus.failed, JobStatus.cancelled):
        raise Conflict(
            f"only failed or cancelled jobs can be retried; job {job.id} is {job.status.value}",
            details={"status": job.status.value},
        )
    moved = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == job.status)
        .values(
            status=JobStatus.queued,
            message="queued again",
            error=None,
            progress_done=0,
            cancel_requested=False,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            result=None,
        )
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"job {job.id} changed meanwhile; load it again")
    session.refresh(job)
    _submit_after_commit(session, job.id)
    return job


def fail_stale_jobs(session: Session, *, stale_after: timedelta) -> list[int]:
    """Mark failed every running job whose heartbeat stopped: the process running it is gone."""
    cutoff = clock.now() - stale_after
    stale = session.scalars(
        select(Job.id).where(Job.status == JobStatus.running, Job.heartbeat_at < cutoff)
    ).all()
    for job_id in stale:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running, Job.heartbeat_at < cutoff)
            .values(
                status=JobStatus.failed,
                finished_at=clock.now(),
                message="failed: its worker stopped",
                error=f"no heartbeat since {cutoff.isoformat()}; the process running it stopped. Retry it.",
            )
        )
    return list(stale)


def resubmit_waiting_jobs(session: Session, *, waiting_longer_than: timedelta) -> list[int]:
    """Hand queued jobs to the runner again when their last hand-over is older than the limit (a runner
    lost with its process). Claims are atomic, so a job submitted twice still runs once."""
    cutoff = clock.now() - waiting_longer_than
    waiting = session.scalars(
        select(Job.id)
        .where(Job.status == JobStatus.queued, or_(Job.submitted_at.is_(None), Job.submitted_at < cutoff))
        .order_by(Job.id)
        .limit(1000)
    ).all()
    for job_id in waiting:
        _submit_after_commit(session, job_id)
    return list(waiting)


def _move(session: Session, job_id: int, source: JobStatus, target: JobStatus, *, message: str) -> bool:
    """Move a job from `source` to a finished `target`; False when it was no longer in `source`."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == source)
        .values(status=target, message=message, finished_at=clock.now())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _submit_after_commit(session: Session, job_id: int) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(submitted_at=clock.now()))
    runner = runner_for(session)
    on_commit(session, lambda: runner.submit(job_id))
