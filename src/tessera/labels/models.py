"""Labels: each labeler's annotation of an item, and the history of every change to one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum
from tessera.items.models import BIG_ID


class AnnotationStatus(StrEnum):
    active = "active"  # counts towards the item's labels
    rejected = "rejected"  # taken back by a review (kept for the history)


class Annotation(Base):
    """One labeler's label of one item, in its stored form (classes by id: see labels/validation.py)."""

    __tablename__ = "annotations"
    __table_args__ = (
        # One active label per labeler and item; a labeler changes theirs rather than adding another.
        Index(
            "uq_annotations_active_item_user",
            "item_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_annotations_project_id_user_id", "project_id", "user_id"),
        # A task's labels answer every claim and submit: without it, each scanned every active label.
        Index("ix_annotations_task_id", "task_id"),
        # An item's labels, rejected ones too (the review shows them side by side).
        Index("ix_annotations_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(BIG_ID)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[AnnotationStatus] = mapped_column(
        str_enum(AnnotationStatus), default=AnnotationStatus.active
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    seconds: Mapped[float | None] = mapped_column(Float)  # time the labeler spent, as the client measured
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class LabelEvent(Base):
    """The audit history: who did what to an item's labels, when, with the label before and after."""

    __tablename__ = "label_events"
    __table_args__ = (Index("ix_label_events_item_id", "item_id"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("items.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))  # submit, change, skip, reject, accept, set, ...
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class PrelabelSource(StrEnum):
    previous = "previous"  # the item's label before the project started over, for the labeler to confirm
    model = "model"  # a model's prediction (the ML stage)
    imported = "imported"  # a label from a file imported as prelabels (formats/importing.py)


class Prelabel(Base):
    """A label offered to the labeler as the default, in stored form; the item is `prelabeled` while it
    has one and still needs labels."""

    __tablename__ = "prelabels"

    item_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[PrelabelSource] = mapped_column(str_enum(PrelabelSource))
    confidence: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)  # the model that predicted it (source model)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
