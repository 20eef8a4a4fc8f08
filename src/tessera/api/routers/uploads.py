"""Uploads: datasets made for uploading, and files streamed into them (multipart/form-data)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, FastAPI, Query, Request

from tessera.accounts.policies import authorize
from tessera.accounts.policies.data import DatasetPolicy
from tessera.api.deps import ActorDep, DatabaseDep, DatasetId, SessionDep, SettingsDep, get_actor
from tessera.api.multipart import blocking_body, form_files, limited_body, refuse_declared_length
from tessera.api.schemas.common import ERROR_RESPONSES, ErrorBody
from tessera.api.schemas.ingest import DatasetOut, StoredFileOut, UploadDatasetCreate, UploadOut
from tessera.ingest.service import get_dataset
from tessera.ingest.uploads import (
    UploadPart,
    create_upload_dataset,
    human_bytes,
    list_dataset_projects,
    open_upload_target,
    store_files,
)

router = APIRouter(prefix="/api", tags=["data"], responses=ERROR_RESPONSES)

UPLOAD_THREADS = 16  # uploads at once; each holds a worker thread while its body streams in
MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "The files; a file name may hold sub-folders (`birds/a.jpg`).",
                        }
                    },
                    "required": ["files"],
                }
            }
        },
    }
}


@router.post("/datasets/uploads", response_model=DatasetOut, status_code=201)
def create_upload_dataset_route(
    body: UploadDatasetCreate, actor: ActorDep, session: SessionDep, settings: SettingsDep
) -> DatasetOut:
    """Create a dataset to upload files into: its own folder in the default datastore."""
    authorize(actor, DatasetPolicy.create())
    dataset = create_upload_dataset(
        session,
        settings=settings,
        name=body.name,
        media=body.media,
        text_column=body.text_column,
        created_by_id=actor.user.id,
    )
    return DatasetOut.model_validate(dataset)


def _upload_limiter(app: FastAPI) -> anyio.CapacityLimiter:
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "upload_limiter", None)
    if limiter is None:
        limiter = app.state.upload_limiter = anyio.CapacityLimiter(UPLOAD_THREADS)
    return limiter


@router.post(
    "/datasets/{dataset_id}/files",
    response_model=UploadOut,
    status_code=201,
    responses={413: {"model": ErrorBody}},
    openapi_extra=MULTIPART_BODY,
)
async def upload_files_route(
    dataset_id: DatasetId,
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    skip_existing: Annotated[
        bool, Query(description="Leave out files already there instead of refusing the upload (409).")
    ] = False,
) -> UploadOut:
    """Store files in an upload dataset, streamed as they arrive (multipart/form-data). Each file is
    written to a temporary name and renamed; a file over `max_upload_bytes` is a 413, and any error keeps
    nothing of the request. Projects of the dataset get the files at their next refresh."""

    def upload() -> UploadOut:
        # Authorize and read what the upload needs in one short transaction, closed before the body is
        # read: a slow upload must not hold a database connection (or SQLite's write lock).
        with database.write() as session:
            actor = get_actor(request, session, BackgroundTasks())
            authorize(actor, DatasetPolicy.upload())
            target = open_upload_target(session, settings=settings, dataset=get_dataset(session, dataset_id))
            project_ids = list_dataset_projects(session, dataset_id)
        limit = settings.upload_request_limit()
        refuse_declared_length(
            request.headers, limit, f"the upload is larger than the limit of {human_bytes(limit)} per request"
        )
        raw = blocking_body(request.stream())
        try:
            files = form_files(limited_body(raw, limit), request.headers.get("content-type"))
            parts = (UploadPart(file.filename, file.chunks) for file in files)
            result = store_files(
                target, parts, max_file_bytes=settings.max_upload_bytes, skip_existing=skip_existing
            )
        finally:
            raw.close()
        return UploadOut(
            dataset_id=dataset_id,
            files=[StoredFileOut(path=stored.path, size=stored.size) for stored in result.stored],
            skipped=result.skipped,
            project_ids=project_ids,
        )

    return await anyio.to_thread.run_sync(upload, limiter=_upload_limiter(request.app))
