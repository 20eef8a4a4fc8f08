"""Exports: one row per export a user started, with the file it produced once its job is done."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum


class ExportState(StrEnum):
    pending = "pending"  # its job is queued or running
    ready = "ready"  # the file is there to download
    failed = "failed"


class Export(Base):
    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[ExportState] = mapped_column(str_enum(ExportState), default=ExportState.pending)
    message: Mapped[str] = mapped_column(String(500), default="")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    file_name: Mapped[str | None] = mapped_column(String(300))  # under <data_dir>/exports/<project id>/
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    items: Mapped[int | None] = mapped_column(BigInteger)  # records written
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when its labels were read
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
