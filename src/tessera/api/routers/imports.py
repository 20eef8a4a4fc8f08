"""Imports: labels from a file (COCO, MLTable, CSV, JSON Lines, CoNLL, Label Studio), into a project's
items as final labels or as prelabels, all or nothing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, Query, Request

from tessera.accounts.policies import Actor, authorize
from tessera.accounts.policies.imports import ImportPolicy
from tessera.accounts.service import get_user
from tessera.api.deps import DatabaseDep, ProjectId, SettingsDep, get_actor
from tessera.api.multipart import blocking_body, form_files, limited_body, refuse_declared_length
from tessera.api.routers.labeling import image_reader
from tessera.api.schemas.common import ERROR_RESPONSES, ErrorBody
from tessera.api.schemas.imports import ImportOut
from tessera.core.errors import Invalid
from tessera.formats.import_formats import get_import_format
from tessera.formats.importing import (
    MAX_IMPORT_BYTES,
    ImportMode,
    ImportOptions,
    MissingClasses,
    import_labels,
    read_import,
)
from tessera.ingest.uploads import human_bytes
from tessera.projects.models import TaskType
from tessera.projects.service import get_project

router = APIRouter(prefix="/api", tags=["imports"], responses=ERROR_RESPONSES)

IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "The file."}
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


def _one_file(request: Request, limit: int) -> bytes:
    """The one file of the multipart body, whole (at most `limit` bytes, else 413)."""
    refuse_declared_length(
        request.headers, limit, f"the file is larger than the import limit of {human_bytes(limit)}"
    )
    raw = blocking_body(request.stream())
    try:
        files = form_files(limited_body(raw, limit), request.headers.get("content-type"))
        first = next(files, None)
        if first is None:
            raise Invalid("send the file to import as multipart/form-data", field="file")
        data = b"".join(first.chunks)
        if next(files, None) is not None:
            raise Invalid("send one file per import", field="file")
        return data
    finally:
        raw.close()


@router.post(
    "/projects/{project_id}/imports",
    response_model=ImportOut,
    responses={413: {"model": ErrorBody}},
    openapi_extra=IMPORT_BODY,
)
async def import_labels_route(
    project_id: ProjectId,
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    format: Annotated[str, Query(description="coco, mltable, csv, jsonl, conll or label_studio")],
    mode: Annotated[ImportMode, Query(description="final: labeled by `imported`; prelabels: to confirm")],
    missing_classes: Annotated[
        MissingClasses, Query(description="Classes the project lacks: reject the file, or add them.")
    ] = MissingClasses.reject,
    text_column: Annotated[
        str | None, Query(description="CSV, JSON Lines: the column with the text.")
    ] = None,
    label_column: Annotated[
        str | None, Query(description="CSV, JSON Lines: the column with the label.")
    ] = None,
) -> ImportOut:
    """Import labels from one file (multipart/form-data, at most 200 MiB), all or nothing: a file with
    any problem is refused (422) with each problem's record, field and reason. See docs/formats.md."""
    options = ImportOptions(format, mode, missing_classes, text_column, label_column)

    def run() -> ImportOut:
        # Authorize in a short transaction closed before the body is read: a slow upload holds no
        # connection (nor SQLite's write lock); the file is then read and parsed outside any transaction.
        with database.write() as session:
            actor = get_actor(request, session, BackgroundTasks())
            project = get_project(session, project_id)
            authorize(actor, ImportPolicy.import_labels(project.id))
            task_type, user_id = TaskType(project.task_type), actor.user.id
            get_import_format(format, task_type)
        parsed = read_import(_one_file(request, MAX_IMPORT_BYTES), task_type=task_type, options=options)
        with database.write() as session:
            actor = Actor(user=get_user(session, user_id), session=session)
            project = get_project(session, project_id)
            authorize(actor, ImportPolicy.import_labels(project.id))
            report = import_labels(
                session, project=project, parsed=parsed, options=options, by_user_id=user_id,
                image_size=image_reader(session, settings),
            )  # fmt: skip
        return ImportOut(format=format, mode=mode.value, **asdict(report))

    return await anyio.to_thread.run_sync(run)
