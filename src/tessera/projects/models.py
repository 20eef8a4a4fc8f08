"""The project record and its label classes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tessera.core.clock import now
from tessera.db.base import Base, UTCDateTime, str_enum


class TaskType(StrEnum):
    image_classification_multiclass = "image_classification_multiclass"
    image_classification_multilabel = "image_classification_multilabel"
    object_detection = "object_detection"
    instance_segmentation = "instance_segmentation"
    semantic_segmentation = "semantic_segmentation"
    text_classification_multiclass = "text_classification_multiclass"
    text_classification_multilabel = "text_classification_multilabel"
    text_ner = "text_ner"

    @property
    def media(self) -> str:
        return "text" if self.value.startswith("text_") else "image"


TASK_TYPE_SUMMARIES: dict[TaskType, str] = {
    TaskType.image_classification_multiclass: "Pick exactly one class for each image.",
    TaskType.image_classification_multilabel: "Pick every class that applies to each image.",
    TaskType.object_detection: "Draw a box around each object and give it a class.",
    TaskType.instance_segmentation: "Outline each object with a polygon and give it a class.",
    TaskType.semantic_segmentation: "Paint every pixel with the class it belongs to.",
    TaskType.text_classification_multiclass: "Pick exactly one class for each text.",
    TaskType.text_classification_multilabel: "Pick every class that applies to each text.",
    TaskType.text_ner: "Select the spans of text that name entities and give each a class.",
}


class ProjectStatus(StrEnum):
    initializing = "initializing"  # its data is being loaded (ingest); then running
    running = "running"
    paused = "paused"


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name folded for comparison; unique across deleted projects too, so a name is reserved forever.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    task_type: Mapped[TaskType] = mapped_column(str_enum(TaskType))
    status: Mapped[ProjectStatus] = mapped_column(str_enum(ProjectStatus), default=ProjectStatus.running)
    instructions_markdown: Mapped[str | None] = mapped_column(Text)
    instructions_url: Mapped[str | None] = mapped_column(String(2000))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    label_classes: Mapped[list[LabelClass]] = relationship(
        back_populates="project", order_by="LabelClass.position", cascade="all, delete-orphan"
    )

    @property
    def media(self) -> str:
        return TaskType(self.task_type).media


class LabelClass(Base):
    __tablename__ = "label_classes"
    __table_args__ = (UniqueConstraint("project_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)

    project: Mapped[Project] = relationship(back_populates="label_classes")
