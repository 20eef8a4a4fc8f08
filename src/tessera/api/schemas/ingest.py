"""Datastores, datasets and a project's data as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.api.schemas.common import EntityId
from tessera.api.schemas.jobs import JobOut
from tessera.ingest.models import DataState, Media


class DatastoreCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description="local, s3, azure_blob or gcs")
    config: dict[str, Any] = Field(
        default_factory=dict, description="Where: root, bucket, container, … (docs/storage.md)"
    )
    credentials: dict[str, str] | None = Field(
        None, description="Secrets; stored encrypted and never returned."
    )


class DatastoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    config: dict[str, Any]
    has_credentials: bool
    created_at: datetime


class DatasetCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    datastore_id: EntityId
    patterns: list[str] = Field(min_length=1, max_length=100, description="Globs: `photos/**`, `**/*.*`")
    media: Media
    text_column: str | None = Field(
        None, max_length=200, description=".csv / .jsonl: the column with the text"
    )


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    datastore_id: int
    patterns: list[str]
    media: Media
    text_column: str | None
    created_at: datetime


class UploadDatasetCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    media: Media
    text_column: str | None = Field(
        None, max_length=200, description=".csv / .jsonl: the column with the text"
    )


class StoredFileOut(BaseModel):
    path: str = Field(description="Where the file is in the datastore: the path its items show.")
    size: int


class UploadOut(BaseModel):
    dataset_id: int
    files: list[StoredFileOut] = Field(description="The files stored, in the order they were sent.")
    skipped: list[str] = Field(description="Files left out because they were already there (skip_existing).")
    project_ids: list[int] = Field(
        description="Projects initialized from the dataset: they get the new files at their next refresh."
    )


class DataAttach(BaseModel):
    dataset_id: EntityId


class RefreshSchedule(BaseModel):
    enabled: bool
    interval_seconds: int = Field(86_400, ge=60, le=365 * 86_400)


class ProjectDataOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    project_id: int
    dataset_id: int
    state: DataState
    files_found: int
    items_loaded: int
    items_left_out: int
    searched: str
    message: str
    refresh_enabled: bool
    refresh_interval_seconds: int
    last_refresh_at: datetime | None
    last_refresh_added: int | None


class DatasetVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    reason: str = Field(description="initialization, refresh or removal")
    files_added: int = Field(description="Items this version added (a .csv or .jsonl row is one).")
    files_removed: int = Field(description="Items this version took out of the project.")
    created_at: datetime


class VersionItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    path: str
    row_index: int
    health: str


class DataRemoval(BaseModel):
    paths: list[str] = Field(
        default_factory=list, max_length=10_000, description="Files to take out, as the items name them."
    )
    patterns: list[str] = Field(
        default_factory=list, max_length=100, description="Glob patterns of files to take out (`old/**`)."
    )


class DataJobOut(BaseModel):
    data: ProjectDataOut
    job: JobOut
