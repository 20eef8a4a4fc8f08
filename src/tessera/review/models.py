"""What review and the dashboard keep: the label that counts for each item, and the counters the dashboard
reads instead of scanning labels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum
from tessera.items.models import BIG_ID


class LabelSource(StrEnum):
    single = "single"  # the one label the project asks for
    consensus = "consensus"  # the labelers agreed; their labels merged
    review = "review"  # a reviewer set it


class ItemLabel(Base):
    """The item's label that exports and training use."""

    __tablename__ = "item_labels"

    item_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[LabelSource] = mapped_column(str_enum(LabelSource))
    agreement: Mapped[float | None] = mapped_column(Float)
    # For an item offered with a pre-filled label: whether the label that counts kept it or changed it.
    prelabel_outcome: Mapped[str | None] = mapped_column(String(20))  # accepted, corrected
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ClassCount(Base):
    """Items whose label that counts uses the class (a multi-label item counts once per class)."""

    __tablename__ = "class_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    class_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    items: Mapped[int] = mapped_column(BigInteger, default=0)


class LabelerCount(Base):
    """A labeler's submitted labels in a project and the time they took."""

    __tablename__ = "labeler_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    items: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class RateCount(Base):
    """Labels submitted per project and hour: the labeling rate over time."""

    __tablename__ = "rate_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    labels: Mapped[int] = mapped_column(BigInteger, default=0)


class ItemLabelClass(Base):
    """The classes of each item's label that counts, one row each: review filters by class through this
    index instead of reading labels."""

    __tablename__ = "item_label_classes"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    class_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    item_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class LabelIssue(Base):
    """A labeled item whose label that counts disagrees with a confident out-of-fold prediction (confident
    learning, found by ML assist's training): the review filter "possible label errors"."""

    __tablename__ = "label_issues"

    item_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[int] = mapped_column(Integer)
    suggested_class_ids: Mapped[list[int]] = mapped_column(JSON)  # what the model would say
    score: Mapped[float] = mapped_column(Float)  # the label's quality (0: surely wrong .. 1: surely right)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
