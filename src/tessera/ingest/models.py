"""Datastores (named connections), datasets (a datastore + patterns), their versions, and each project's
data: which dataset it was initialized from, its counters, and its refresh schedule."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum


class Media(StrEnum):
    image = "image"
    text = "text"


class Datastore(Base):
    __tablename__ = "datastores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # local, s3, azure_blob, gcs
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # never secrets
    credentials_ciphertext: Mapped[str | None] = mapped_column(Text)  # encrypted, write-only via the API
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def has_credentials(self) -> bool:
        return self.credentials_ciphertext is not None


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    datastore_id: Mapped[int] = mapped_column(ForeignKey("datastores.id", ondelete="RESTRICT"), index=True)
    patterns: Mapped[list[str]] = mapped_column(JSON)
    media: Mapped[Media] = mapped_column(str_enum(Media))
    text_column: Mapped[str | None] = mapped_column(String(200))  # .csv / .jsonl: the column holding the text
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class DatasetVersion(Base):
    """A frozen listing of what a project took from its dataset: version N holds the items added by
    versions 1..N and not removed by any of them. Items point at the version that added them and, once
    taken out, at the version that removed them; so removing data is a new version, never an edit."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "project_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))  # initialization, refresh, removal
    files_added: Mapped[int] = mapped_column(Integer, default=0)  # items, strictly (a .csv row is one)
    files_removed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class DataState(StrEnum):
    initializing = "initializing"
    ready = "ready"
    failed = "failed"


class ProjectData(Base):
    """One per project with data: its dataset, counters, and refresh schedule (with a lease, so that no
    two processes refresh one project at once)."""

    __tablename__ = "project_data"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"), index=True)
    state: Mapped[DataState] = mapped_column(str_enum(DataState), default=DataState.initializing)
    seed: Mapped[int] = mapped_column(Integer)  # seeds the items' random ranks
    files_found: Mapped[int] = mapped_column(Integer, default=0)
    items_loaded: Mapped[int] = mapped_column(Integer, default=0)
    items_left_out: Mapped[int] = mapped_column(Integer, default=0)  # past max_items_per_project
    searched: Mapped[str] = mapped_column(String(2000), default="")  # where the listing looked, in words
    message: Mapped[str] = mapped_column(String(500), default="")
    refresh_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    refresh_interval_seconds: Mapped[int] = mapped_column(Integer, default=86_400)
    last_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_refresh_added: Mapped[int | None] = mapped_column(Integer)
    refresh_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
