"""Datastores and datasets (workspace resources), and a project's data: attach, status, refresh."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from tessera.accounts.policies import authorize
from tessera.accounts.policies.data import DatasetPolicy, DatastorePolicy, ProjectDataPolicy
from tessera.api.deps import ActorDep, PageDep, ProjectId, SessionDep, SettingsDep
from tessera.api.schemas.common import ERROR_RESPONSES, Page, page_response
from tessera.api.schemas.ingest import (
    DataAttach,
    DataJobOut,
    DatasetCreate,
    DatasetOut,
    DatastoreCreate,
    DatastoreOut,
    ProjectDataOut,
    RefreshSchedule,
)
from tessera.api.schemas.jobs import JobOut
from tessera.ingest.service import (
    attach_dataset,
    create_dataset,
    create_datastore,
    get_dataset,
    get_datastore,
    get_project_data,
    list_datasets,
    list_datastores,
    set_refresh_schedule,
    start_refresh,
)
from tessera.projects.service import get_project

router = APIRouter(prefix="/api", tags=["data"], responses=ERROR_RESPONSES)


@router.get("/datastores", response_model=Page[DatastoreOut])
def list_datastores_route(actor: ActorDep, session: SessionDep, page: PageDep) -> Response:
    authorize(actor, DatastorePolicy.list())
    rows = list_datastores(session, after_id=page.position, limit=page.limit)
    return page_response(rows, page.limit, DatastoreOut)


@router.post("/datastores", response_model=DatastoreOut, status_code=201)
def create_datastore_route(
    body: DatastoreCreate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> DatastoreOut:
    """Create a named connection. It is tested first (wrong credentials or a missing bucket fail here);
    its credentials are stored encrypted and never shown again."""
    authorize(actor, DatastorePolicy.create())
    row = create_datastore(
        session,
        settings=settings,
        name=body.name,
        kind=body.kind,
        config=body.config,
        credentials=body.credentials,
        created_by_id=actor.user.id,
    )
    return DatastoreOut.model_validate(row)


@router.get("/datasets", response_model=Page[DatasetOut])
def list_datasets_route(actor: ActorDep, session: SessionDep, page: PageDep) -> Response:
    authorize(actor, DatasetPolicy.list())
    rows = list_datasets(session, after_id=page.position, limit=page.limit)
    return page_response(rows, page.limit, DatasetOut)


@router.post("/datasets", response_model=DatasetOut, status_code=201)
def create_dataset_route(body: DatasetCreate, actor: ActorDep, session: SessionDep) -> DatasetOut:
    authorize(actor, DatasetPolicy.create())
    datastore = get_datastore(session, body.datastore_id)
    dataset = create_dataset(
        session,
        name=body.name,
        datastore=datastore,
        patterns=body.patterns,
        media=body.media,
        text_column=body.text_column,
        created_by_id=actor.user.id,
    )
    return DatasetOut.model_validate(dataset)


@router.get("/projects/{project_id}/data", response_model=ProjectDataOut)
def read_project_data(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> ProjectDataOut:
    project = get_project(session, project_id)
    authorize(actor, ProjectDataPolicy.read(project.id))
    return ProjectDataOut.model_validate(get_project_data(session, project.id))


@router.post("/projects/{project_id}/data", response_model=DataJobOut, status_code=202)
def attach_dataset_route(
    project_id: ProjectId, body: DataAttach, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> DataJobOut:
    """Give the project its dataset (once): it becomes `initializing` while a job loads its items;
    follow the job for progress."""
    project = get_project(session, project_id)
    authorize(actor, ProjectDataPolicy.change(project.id))
    dataset = get_dataset(session, body.dataset_id)
    job = attach_dataset(
        session,
        project=project,
        dataset=dataset,
        max_items=settings.max_items_per_project,
        created_by_id=actor.user.id,
    )
    data = ProjectDataOut.model_validate(get_project_data(session, project.id))
    return DataJobOut(data=data, job=JobOut.model_validate(job))


@router.put("/projects/{project_id}/data/refresh-schedule", response_model=ProjectDataOut)
def set_refresh_schedule_route(
    project_id: ProjectId, body: RefreshSchedule, actor: ActorDep, session: SessionDep
) -> ProjectDataOut:
    project = get_project(session, project_id)
    authorize(actor, ProjectDataPolicy.change(project.id))
    data = set_refresh_schedule(
        session,
        get_project_data(session, project.id),
        enabled=body.enabled,
        interval_seconds=body.interval_seconds,
    )
    return ProjectDataOut.model_validate(data)


@router.post("/projects/{project_id}/data/refresh", response_model=JobOut, status_code=202)
def refresh_now(project_id: ProjectId, actor: ActorDep, session: SessionDep, settings: SettingsDep) -> JobOut:
    """Add the files that appeared since the last listing (409 while a refresh is running)."""
    project = get_project(session, project_id)
    authorize(actor, ProjectDataPolicy.change(project.id))
    job = start_refresh(
        session, project=project, max_items=settings.max_items_per_project, created_by_id=actor.user.id
    )
    return JobOut.model_validate(job)
