"""A project's dataset versions: the frozen listings, and removing data as a new version."""

from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import Response

from tessera.accounts.policies import authorize
from tessera.accounts.policies.data import ProjectDataPolicy
from tessera.api.deps import ActorDep, PageDep, ProjectId, SessionDep
from tessera.api.schemas.common import ERROR_RESPONSES, Page, page_response
from tessera.api.schemas.ingest import DataRemoval, DatasetVersionOut, VersionItemOut
from tessera.ingest.versions import get_version, list_version_items, list_versions, remove_data
from tessera.projects.service import get_project

router = APIRouter(prefix="/api/projects/{project_id}/data", tags=["data"], responses=ERROR_RESPONSES)


@router.get("/versions", response_model=Page[DatasetVersionOut])
def list_versions_route(
    project_id: ProjectId, actor: ActorDep, session: SessionDep, page: PageDep
) -> Response:
    project = get_project(session, project_id)
    authorize(actor, ProjectDataPolicy.read(project.id))
    rows = list_versions(session, project.id, after_id=page.position, limit=page.limit)
    return page_response(rows, page.limit, DatasetVersionOut)


@router.get("/versions/{number}/items", response_model=Page[VersionItemOut])
def list_version_items_route(
    project_id: ProjectId,
    actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    number: int = Path(ge=1, le=2**31 - 1),
) -> Response:
    """The frozen listing of version `number`: the items added up to it and not removed by then."""
    project = get_project(session, project_id)
    authorize(actor, ProjectDataPolicy.read(project.id))
    version = get_version(session, project.id, number)
    rows = list_version_items(session, version, after_id=page.position, limit=page.limit)
    return page_response(rows, page.limit, VersionItemOut)


@router.post("/removals", response_model=DatasetVersionOut, status_code=201)
def remove_data_route(
    project_id: ProjectId, body: DataRemoval, actor: ActorDep, session: SessionDep
) -> DatasetVersionOut:
    """Take files out of the project: a new dataset version without them (their items are kept, marked
    removed, and never added again by a refresh)."""
    project = get_project(session, project_id)
    authorize(actor, ProjectDataPolicy.change(project.id))
    version = remove_data(
        session, project=project, paths=body.paths, patterns=body.patterns, created_by_id=actor.user.id
    )
    return DatasetVersionOut.model_validate(version)
