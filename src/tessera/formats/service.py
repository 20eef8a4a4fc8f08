"""Starting exports and finding their files. An export is a job (`formats.export`): the request only
checks the format and options and queues it, so no export runs inside a web request at any size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.core.errors import Conflict, NotFound
from tessera.core.settings import Settings
from tessera.formats.models import Export, ExportState
from tessera.formats.records import ExportOptions
from tessera.formats.registry import get_export_format
from tessera.jobs.service import create_job
from tessera.projects.models import Project, TaskType

EXPORT_JOB = "formats.export"


def start_export(
    session: Session,
    *,
    project: Project,
    format_name: str,
    options: dict[str, Any],
    created_by_id: int | None,
) -> Export:
    """A pending export and its queued job (run after this transaction commits)."""
    fmt = get_export_format(format_name, TaskType(project.task_type))
    parsed = ExportOptions.parse(options)
    export = Export(
        project_id=project.id,
        format=fmt.name,
        options=vars(parsed),
        created_by_id=created_by_id,
        message="queued",
    )
    session.add(export)
    session.flush()
    job = create_job(
        session,
        kind=EXPORT_JOB,
        params={"export_id": export.id},
        project_id=project.id,
        created_by_id=created_by_id,
    )
    export.job_id = job.id
    session.flush()
    return export


def get_export(session: Session, export_id: int) -> Export:
    export = session.get(Export, export_id)
    if export is None:
        raise NotFound(f"export {export_id} does not exist")
    return export


def list_exports(
    session: Session, project_id: int, *, after_id: int = 0, limit: int = 50
) -> Sequence[Export]:
    query = select(Export).where(Export.project_id == project_id, Export.id > after_id)
    return session.scalars(query.order_by(Export.id).limit(limit)).all()


def exports_folder(settings: Settings, project_id: int) -> Path:
    return settings.data_dir / "exports" / str(project_id)


def export_file(settings: Settings, export: Export) -> Path:
    """The export's file, once it is ready; Conflict while it is being made or if it failed."""
    if export.state != ExportState.ready or not export.file_name:
        reason = export.message if export.state == ExportState.failed else "it is still being made"
        raise Conflict(f"export {export.id} has no file to download: {reason}")
    path = exports_folder(settings, export.project_id) / export.file_name
    if not path.is_file():
        raise NotFound(f"the file of export {export.id} is gone from the server")
    return path
