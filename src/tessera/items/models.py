"""The items of a project: one per file (images, .txt) or per row (.csv, .jsonl)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum

# 64-bit ids on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is already the 64-bit rowid.
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class ItemState(StrEnum):
    """Where the item is in labeling (the workflow adds its states)."""

    unlabeled = "unlabeled"


class ItemHealth(StrEnum):
    """Whether the item's data can be used; independent of its labeling state."""

    ok = "ok"
    missing = "missing"  # the file is no longer in the datastore
    broken = "broken"  # the file is there but cannot be read as what it should be
    replaced_characters = "replaced_characters"  # text that was not UTF-8, decoded with replacements


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "path", "row_index"),
        Index("ix_items_project_id_rank", "project_id", "rank"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # Not indexed (every index slows the big inserts); versions are never deleted while items point at them.
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="SET NULL")
    )
    path: Mapped[str] = mapped_column(String(1024))  # relative to the datastore's root
    row_index: Mapped[int] = mapped_column(Integer, default=0)  # 0 for a whole file; 1.. for table rows
    text: Mapped[str | None] = mapped_column(Text)  # text items' content
    rank: Mapped[int] = mapped_column(Integer)  # random, seeded per project: the labeling order
    state: Mapped[ItemState] = mapped_column(str_enum(ItemState), default=ItemState.unlabeled)
    health: Mapped[ItemHealth] = mapped_column(str_enum(ItemHealth), default=ItemHealth.ok)
    health_reason: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
