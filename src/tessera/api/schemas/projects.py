"""Projects as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tessera.api.schemas.common import EntityId
from tessera.projects.models import ProjectStatus, TaskType
from tessera.review.classes import LabelsOnClassChange


class LabelClassOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    position: int


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    task_type: TaskType
    media: str = Field(description="image or text, from the task type")
    status: ProjectStatus
    label_classes: list[LabelClassOut]
    instructions_markdown: str | None
    instructions_url: str | None
    created_at: datetime
    updated_at: datetime


class ProgressOut(BaseModel):
    """Items per state (removed items are not counted in `total`)."""

    total: int
    unlabeled: int
    labeled: int
    needs_review: int
    skipped: int


class ProjectListItem(ProjectOut):
    role: str | None = Field(
        description="Your role in the project (owner, manager, reviewer, labeler); null for a workspace "
        "admin who is not a member"
    )
    progress: ProgressOut


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    task_type: TaskType
    label_classes: list[str] = Field(min_length=1, max_length=10_000)
    instructions_markdown: str | None = None
    instructions_url: str | None = Field(None, max_length=2000)


class ProjectUpdate(BaseModel):
    """Fields left out stay as they are; the task type may be sent but must not change."""

    name: str | None = Field(None, min_length=1, max_length=200)
    task_type: TaskType | None = None
    instructions_markdown: str | None = None
    instructions_url: str | None = Field(None, max_length=2000)


class LabelClassIn(BaseModel):
    id: EntityId | None = Field(None, description="An existing class to keep (and rename); omit to add one.")
    name: str = Field(max_length=200)


class LabelClassesSet(BaseModel):
    label_classes: list[LabelClassIn] = Field(min_length=1, max_length=10_000)
    labels: LabelsOnClassChange = Field(
        LabelsOnClassChange.continue_,
        description=(
            "Once labeling has started, adding or removing classes needs the project paused and says what "
            "becomes of the labels: continue (keep them; not when a removed class is in use), start_over "
            "(take them all back), start_over_keep (take them back, offering each item's label as its "
            "pre-filled default)."
        ),
    )


class InstructionsOut(BaseModel):
    markdown: str | None
    html: str | None = Field(description="The Markdown rendered safely: no script or raw HTML gets through.")
    url: str | None


class InstructionsPreview(BaseModel):
    markdown: str = Field(description="Markdown to render as a project's instructions would be.")


class TaskTypeOut(BaseModel):
    task_type: TaskType
    media: str
    summary: str
