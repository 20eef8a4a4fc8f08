"""Background jobs: status, progress, cancel and retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tessera.accounts.policies import authorize
from tessera.accounts.policies.jobs import JobPolicy
from tessera.api.deps import ActorDep, JobId, PageDep, ProjectId, SessionDep
from tessera.api.schemas.common import ERROR_RESPONSES, Page, page_response
from tessera.api.schemas.jobs import JobOut, SystemCheckCreate
from tessera.jobs.models import JobStatus
from tessera.jobs.service import cancel_job, create_job, get_job, list_jobs
from tessera.jobs.service import retry_job as retry_job_service
from tessera.jobs.system_check import SYSTEM_CHECK
from tessera.projects.service import get_project

router = APIRouter(prefix="/api", tags=["jobs"], responses=ERROR_RESPONSES)

KindQuery = Annotated[
    str | None, Query(description="A job kind (`ml.train`) or a stage (`ml`: every `ml.…` kind).")
]
StatusQuery = Annotated[JobStatus | None, Query(description="Only jobs in this status.")]


@router.get("/jobs", response_model=Page[JobOut])
def list_workspace_jobs(
    actor: ActorDep, session: SessionDep, page: PageDep, kind: KindQuery = None, status: StatusQuery = None
) -> Response:
    """Every job, newest first (workspace admins); `kind` and `status` narrow the list."""
    authorize(actor, JobPolicy.list_workspace())
    jobs = list_jobs(
        session, project_id=None, every_project=True, before_id=page.position or None, limit=page.limit,
        kind=kind, status=status,
    )  # fmt: skip
    return page_response(jobs, page.limit, JobOut)


@router.get("/projects/{project_id}/jobs", response_model=Page[JobOut])
def list_project_jobs(
    project_id: ProjectId,
    actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    kind: KindQuery = None,
    status: StatusQuery = None,
) -> Response:
    """A project's jobs, newest first; `kind` and `status` narrow the list."""
    project = get_project(session, project_id)
    authorize(actor, JobPolicy.read(project.id))
    jobs = list_jobs(
        session, project_id=project.id, before_id=page.position or None, limit=page.limit, kind=kind,
        status=status,
    )  # fmt: skip
    return page_response(jobs, page.limit, JobOut)


@router.get("/jobs/{job_id}", response_model=JobOut)
def read_job(job_id: JobId, actor: ActorDep, session: SessionDep) -> JobOut:
    job = get_job(session, job_id)
    authorize(actor, JobPolicy.read(job.project_id))
    return JobOut.model_validate(job)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job_route(job_id: JobId, actor: ActorDep, session: SessionDep) -> JobOut:
    """Cancel a queued job at once, or ask a running one to stop at its next progress report."""
    job = get_job(session, job_id)
    authorize(actor, JobPolicy.control(job.project_id))
    return JobOut.model_validate(cancel_job(session, job))


@router.post("/jobs/{job_id}/retry", response_model=JobOut)
def retry_job(job_id: JobId, actor: ActorDep, session: SessionDep) -> JobOut:
    """Queue a failed or cancelled job again."""
    job = get_job(session, job_id)
    authorize(actor, JobPolicy.control(job.project_id))
    return JobOut.model_validate(retry_job_service(session, job))


@router.post("/jobs/system-check", response_model=JobOut, status_code=201)
def start_system_check(body: SystemCheckCreate, actor: ActorDep, session: SessionDep) -> JobOut:
    """Start a `system.check` job: it proves a runner (a `tessera worker`, with Redis) picks jobs up."""
    authorize(actor, JobPolicy.run_system_check())
    job = create_job(
        session,
        kind=SYSTEM_CHECK,
        params=body.model_dump(),
        created_by_id=actor.user.id,
    )
    return JobOut.model_validate(job)
