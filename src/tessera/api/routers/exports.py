"""Exports: start one (a background job), follow it, download its file."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from tessera.accounts.policies import authorize
from tessera.accounts.policies.exports import ExportPolicy
from tessera.api.deps import ActorDep, ExportId, PageDep, ProjectId, SessionDep, SettingsDep
from tessera.api.schemas.common import ERROR_RESPONSES, Page, page_response
from tessera.api.schemas.exports import ExportCreate, ExportFormatOut, ExportOut
from tessera.formats.models import Export, ExportState
from tessera.formats.registry import export_formats_for
from tessera.formats.service import export_file, get_export, list_exports, start_export
from tessera.projects.models import TaskType
from tessera.projects.service import get_project

router = APIRouter(prefix="/api", tags=["exports"], responses=ERROR_RESPONSES)


def export_out(export: Export) -> ExportOut:
    shown = ExportOut.model_validate(export)
    if export.state == ExportState.ready:
        shown.download_url = f"/api/exports/{export.id}/download"
    return shown


@router.get("/projects/{project_id}/export-formats", response_model=list[ExportFormatOut])
def list_export_formats(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> list[ExportFormatOut]:
    """The formats the project's task type exports to."""
    project = get_project(session, project_id)
    authorize(actor, ExportPolicy.export(project.id))
    formats = export_formats_for(TaskType(project.task_type))
    return [ExportFormatOut(name=fmt.name, summary=fmt.summary) for fmt in formats]


@router.post("/projects/{project_id}/exports", response_model=ExportOut, status_code=202)
def start_export_route(
    project_id: ProjectId, body: ExportCreate, actor: ActorDep, session: SessionDep
) -> ExportOut:
    """Start an export: a job reads the labels as they are when it starts and writes the file."""
    project = get_project(session, project_id)
    authorize(actor, ExportPolicy.export(project.id))
    export = start_export(
        session, project=project, format_name=body.format, options=body.options, created_by_id=actor.user.id
    )
    return export_out(export)


@router.get("/projects/{project_id}/exports", response_model=Page[ExportOut])
def list_exports_route(
    project_id: ProjectId, actor: ActorDep, session: SessionDep, page: PageDep
) -> Response:
    """The project's exports, oldest first."""
    project = get_project(session, project_id)
    authorize(actor, ExportPolicy.export(project.id))
    exports = list_exports(session, project.id, after_id=page.position, limit=page.limit)
    return page_response([export_out(export) for export in exports], page.limit, ExportOut)


@router.get("/exports/{export_id}", response_model=ExportOut)
def read_export(export_id: ExportId, actor: ActorDep, session: SessionDep) -> ExportOut:
    export = get_export(session, export_id)
    authorize(actor, ExportPolicy.export(export.project_id))
    return export_out(export)


@router.get("/exports/{export_id}/download", response_class=FileResponse)
def download_export(
    export_id: ExportId, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The export's file (409 while it is being made)."""
    export = get_export(session, export_id)
    authorize(actor, ExportPolicy.export(export.project_id))
    path = export_file(settings, export)
    return FileResponse(path, filename=path.name, media_type="application/octet-stream")
