"""The queue's tables: each project's labeling settings, and tasks — a page of items under a lease to one
labeler."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum
from tessera.items.models import BIG_ID

PAGE_SIZES = (1, 4, 6, 9)


class LabelingSettings(Base):
    """How a project hands out work: page size, lease, and consensus (1 and 1: no consensus)."""

    __tablename__ = "labeling_settings"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    page_size: Mapped[int] = mapped_column(Integer)
    lease_seconds: Mapped[int] = mapped_column(Integer, default=900)
    min_labelers: Mapped[int] = mapped_column(Integer, default=1)
    max_labelers: Mapped[int] = mapped_column(Integer, default=1)
    agreement_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    iou_threshold: Mapped[float] = mapped_column(Float, default=0.5)


class TaskKind(StrEnum):
    manual = "manual"  # items in the project's shuffled order
    clustered = "clustered"  # items that share a cluster id
    prelabeled = "prelabeled"  # items the model pre-labeled, for the labeler to confirm or correct


class TaskStatus(StrEnum):
    open = "open"  # leased to its labeler
    submitted = "submitted"  # every item submitted or skipped
    expired = "expired"  # the lease ran out: its unfinished items went back to the queue
    released = "released"  # given back by the labeler (or a manager)


class ItemOutcome(StrEnum):
    pending = "pending"
    submitted = "submitted"
    skipped = "skipped"
    rejected = "rejected"  # submitted, and a reviewer (or a start-over) took the label back


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_project_id_user_id_status", "project_id", "user_id", "status"),
        Index("ix_tasks_status_lease_until", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[TaskKind] = mapped_column(str_enum(TaskKind))
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.open)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TaskItem(Base):
    __tablename__ = "task_items"
    __table_args__ = (Index("ix_task_items_item_id", "item_id"),)

    task_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    item_id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[ItemOutcome] = mapped_column(str_enum(ItemOutcome), default=ItemOutcome.pending)
