"""Background jobs as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.jobs.models import JobStatus


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    project_id: int | None
    status: JobStatus
    params: dict[str, Any]
    result: dict[str, Any] | None
    progress_done: int
    progress_total: int | None
    message: str
    error: str | None
    attempts: int
    cancel_requested: bool
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None


class SystemCheckCreate(BaseModel):
    steps: int = Field(10, ge=1, le=10_000)
    step_seconds: float = Field(0.05, ge=0, le=10)
