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


class DataJobOut(BaseModel):
    data: ProjectDataOut
    job: JobOut
