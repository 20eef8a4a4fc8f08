"""The items of a project: one per file (images, .txt) or per row (.csv, .jsonl)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum

# 64-bit ids on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is already the 64-bit rowid.
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class ItemState(StrEnum):
    """Where the item is in labeling (the workflow adds its states)."""

    unlabeled = "unlabeled"  # needs (more) labels: in the queue, or in a labeler's task
    labeled = "labeled"  # has the label that counts (one labeler's, the consensus, or a reviewer's)
    needs_review = "needs_review"  # its labelers did not agree by the most the project asks for
    skipped = "skipped"  # a labeler skipped it; a reviewer sends it back or takes it out
    removed = "removed"  # taken out of the project (a new dataset version, or a skip accepted in review)


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
        # The queue's quick questions (is anything assigned to this labeler, pre-labeled, clustered?),
        # answered from indexes that hold only such items: empty, and free, until the workflow or the ML
        # stage sets the column.
        Index(
            "ix_items_assigned",
            "assigned_user_id",
            "project_id",
            sqlite_where=text("assigned_user_id IS NOT NULL"),
            postgresql_where=text("assigned_user_id IS NOT NULL"),
        ),
        Index(
            "ix_items_prelabeled",
            "project_id",
            "state",
            sqlite_where=text("prelabeled"),
            postgresql_where=text("prelabeled"),
        ),
        Index(
            "ix_items_cluster",
            "project_id",
            "cluster_id",
            sqlite_where=text("cluster_id IS NOT NULL"),
            postgresql_where=text("cluster_id IS NOT NULL"),
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
    # The labeling workflow's numbers: labels submitted, open tasks holding the item, the labels it needs
    # (0: the project's minimum; raised, up to its maximum, while the labelers disagree), and a version
    # that every change bumps (reviewers' edits are checked against it).
    label_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claim_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    labels_needed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cluster_id: Mapped[int | None] = mapped_column(Integer)  # similar items (the ML stage fills it in)
    prelabeled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    width: Mapped[int | None] = mapped_column(Integer)  # an image's size, read once when first needed
    height: Mapped[int | None] = mapped_column(Integer)
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


class ItemCount(Base):
    """A project's items per state, and the workflow's sub-counts (`claimed`: unlabeled items in an
    open task; `waiting`: unlabeled items with some labels, in no task), kept in step by every
    transition so that the dashboard never counts rows."""

    __tablename__ = "item_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# The condition of `ix_items_prelabeled`, written as its index is, so that both databases use the index
# (`prelabeled IS 1` / `IS true`, what `Item.prelabeled.is_(True)` renders, matches neither).
PRELABELED: ColumnElement[bool] = literal_column("items.prelabeled")
