"""Exports as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.formats.models import ExportState


class ExportCreate(BaseModel):
    format: str = Field(description="An export format of the project's task type (GET …/export-formats).")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="items (final | all), consensus_only, include_prelabels, validation_share (0–1), seed: "
        "docs/formats.md",
    )


class ExportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    format: str
    options: dict[str, Any]
    state: ExportState
    message: str
    job_id: int | None
    file_name: str | None
    size_bytes: int | None
    items: int | None
    created_at: datetime
    snapshot_at: datetime | None = Field(description="When its labels were read: the export shows them then.")
    finished_at: datetime | None
    download_url: str | None = Field(None, description="Where the file is, once ready.")


class ExportFormatOut(BaseModel):
    name: str
    summary: str
