"""The items of a project: one per file (images, .txt) or per row (.csv, .jsonl)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum

# 64-bit ids on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is already the 64-bit rowid.
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class ItemState(StrEnum):
    """Where the item is in labeling (the workflow adds its states)."""

    unlabeled = "unlabeled"
    removed = "removed"  # taken out of the project by a new dataset version; kept for its history


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
        # The few items a refresh treats apart (missing files, removed items), found without a scan; the
        # condition keeps every healthy item out, so loads do not pay for it.
        Index(
            "ix_items_set_aside",
            "project_id",
            "id",
            sqlite_where=text("health = 'missing' OR state = 'removed'"),
            postgresql_where=text("health = 'missing' OR state = 'removed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # Not indexed (every index slows the big inserts); versions are never deleted while items point at them.
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="SET NULL")
    )
    removed_version_id: Mapped[int | None] = mapped_column(  # the version that took the item out
        ForeignKey("dataset_versions.id", ondelete="SET NULL")
    )
    path: Mapped[str] = mapped_column(String(1024))  # relative to the datastore's root
    row_index: Mapped[int] = mapped_column(Integer, default=0)  # 0 for a whole file; 1.. for table rows
    text: Mapped[str | None] = mapped_column(Text)  # text items' content
    rank: Mapped[int] = mapped_column(Integer)  # random, seeded per project: the labeling order
    state: Mapped[ItemState] = mapped_column(str_enum(ItemState), default=ItemState.unlabeled)
    health: Mapped[ItemHealth] = mapped_column(str_enum(ItemHealth), default=ItemHealth.ok)
    health_reason: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int | None] = mapped_column(BigInteger)  # as listed (object stores; not local folders)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ItemOrder(Base):
    """The labeling order of a project's items: (project, random rank, item), one row per item in the
    project. It is kept apart from `items` so that a load writes it once, sorted, after the items: an index
    on the random ranks inside `items` halved the insert rate, since every row landed on a random page.
    No foreign key to `items`: items are never deleted (removal is a state), and one would need an index
    on `item_id` that every insert pays for."""

    __tablename__ = "item_order"
    __table_args__ = {"sqlite_with_rowid": False}

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    item_id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=False)
