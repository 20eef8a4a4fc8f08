"""ML assist's tables: each project's ML settings and state, and its model versions with their metrics."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum


class MlSettings(Base):
    """A project's ML assist settings (defaults in ml/settings.py), and what the scheduler needs to know
    without reading embeddings: how many items were featurized and at how many labels it last trained."""

    __tablename__ = "ml_settings"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    target_precision: Mapped[float] = mapped_column(Float, default=0.95)
    first_training_labels: Mapped[int] = mapped_column(Integer, default=50)
    min_labels_per_class: Mapped[int] = mapped_column(Integer, default=5)
    retrain_every: Mapped[int] = mapped_column(Integer, default=100)
    active_learning: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    clustering: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The state the scheduler reads.
    featurized_items: Mapped[int] = mapped_column(Integer, default=0, server_default=false())
    trained_at_labels: Mapped[int | None] = mapped_column(Integer)  # labels counted at the last training
    training_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ModelStatus(StrEnum):
    training = "training"
    ready = "ready"  # trained and validated; its threshold (if any) decides the prelabels
    failed = "failed"


class ModelVersion(Base):
    """One trained head: on which labels, its out-of-fold metrics, the precision-against-threshold curve,
    the chosen threshold (None: no threshold met the target, so no prelabels) and why."""

    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_project_id_version", "project_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    backbone: Mapped[str] = mapped_column(String(100))
    status: Mapped[ModelStatus] = mapped_column(str_enum(ModelStatus), default=ModelStatus.training)
    job_id: Mapped[int | None] = mapped_column(Integer)
    trained_on: Mapped[int] = mapped_column(Integer, default=0)  # labeled items it learned from
    target_precision: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(String(1000), default="")
    labels_needed: Mapped[int | None] = mapped_column(Integer)  # more labels likely needed for a threshold
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    curve: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    head_file: Mapped[str | None] = mapped_column(String(500))
    prelabeled: Mapped[int] = mapped_column(Integer, default=0)  # items its inference pre-labeled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
