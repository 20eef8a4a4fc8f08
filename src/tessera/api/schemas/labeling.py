"""Labeling: settings, tasks, submissions, review decisions, the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tessera.items.models import ItemHealth, ItemState
from tessera.queue.models import ItemOutcome, TaskKind, TaskStatus

MAX_ID = 2**63 - 1


class LabelingSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    page_size: int
    lease_seconds: int
    min_labelers: int
    max_labelers: int
    agreement_threshold: float
    iou_threshold: float


class LabelingSettingsChange(BaseModel):
    page_size: int | None = Field(
        None, description="Items a labeler gets at once: 1, 4, 6 or 9 (grids: image classification)."
    )
    lease_seconds: int | None = Field(
        None, description="How long a task stays with its labeler without activity."
    )
    min_labelers: int | None = Field(None, ge=1, le=10, description="Labels every item needs (consensus).")
    max_labelers: int | None = Field(
        None, ge=1, le=10, description="Most labelers an item goes to before review."
    )
    agreement_threshold: float | None = Field(None, description="Share of labelers that must agree, 0.5-1.")
    iou_threshold: float | None = Field(None, description="Boxes and polygons match at this IoU or more.")


class NextTask(BaseModel):
    kind: TaskKind | None = Field(
        None, description="prelabeled, clustered or manual; none: the first that has items."
    )


class TaskItemOut(BaseModel):
    id: int
    path: str
    row_index: int
    text: str | None
    width: int | None
    height: int | None
    health: ItemHealth
    outcome: ItemOutcome
    label: dict[str, Any] | None = Field(None, description="This labeler's label, once submitted.")
    prelabel: dict[str, Any] | None = Field(
        None,
        description="A default to confirm or correct: a model's, or the label before a start-over.",
    )


class TaskOut(BaseModel):
    id: int
    project_id: int
    kind: TaskKind
    status: TaskStatus
    lease_until: datetime
    items: list[TaskItemOut]


class SubmittedTaskOut(TaskOut):
    next_task: TaskOut | None = Field(
        None, description="With `next`: your next task (your open one, else a new page); else null."
    )


class LabelIn(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)
    label: dict[str, Any]
    seconds: float | None = Field(None, ge=0, le=86_400, description="Time the labeler spent on it.")


class SubmissionIn(BaseModel):
    labels: list[LabelIn] = Field(min_length=1, max_length=9)
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=100, description="A retry with the same key changes nothing."
    )
    next: bool = Field(
        False,
        description="Also claim your next task in the same request (one round trip, one transaction): it "
        "comes back as `next_task`, null when no item is left for you.",
    )


class SkipIn(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)


class LabelChange(BaseModel):
    label: dict[str, Any]


class AnnotationOut(BaseModel):
    id: int
    item_id: int
    user_id: int
    status: str
    label: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class LabelEventOut(BaseModel):
    """One change to an item's labels, from its audit history."""

    id: int
    item_id: int
    user_id: int | None = Field(description="Who made it (null: a deleted user, or the system)")
    username: str | None
    action: str = Field(
        description="submit, change, skip, reject, accept_skip, set (a reviewer's label), import, start_over"
    )
    before: dict[str, Any] | None = Field(description="The label before, as the API shows labels")
    after: dict[str, Any] | None = Field(description="The label after")
    at: datetime


class MyAnnotationOut(AnnotationOut):
    path: str = Field(description="The item's path, to show it again.")
    text: str | None = Field(None, description="The item's text (text projects).")
    item_state: ItemState


class ReviewDecision(BaseModel):
    action: Literal["reject", "accept_skip", "set_label"]
    version: int = Field(ge=1, description="The item's version as you loaded it: a changed item answers 409.")
    label: dict[str, Any] | None = Field(None, description="With set_label: the label that counts.")


class ReviewItemOut(BaseModel):
    id: int
    path: str
    row_index: int
    text: str | None
    state: ItemState
    version: int
    label_count: int
    label: dict[str, Any] | None = Field(None, description="The label that counts (consensus, or set).")
    label_source: str | None
    agreement: float | None
    prelabel_outcome: str | None = Field(
        None, description="accepted or corrected, for items offered a pre-filled label."
    )
    possible_label_error: dict[str, Any] | None = Field(
        None,
        description="When ML assist found the label likely wrong: the classes it suggests and the label's "
        "quality score (0 surely wrong, 1 surely right).",
    )
    annotations: list[AnnotationOut] = Field(
        default_factory=list, description="Each labeler's label, side by side."
    )


class AssignmentIn(BaseModel):
    user_id: int = Field(ge=1, le=2**31 - 1, description="The labeler (a member of the project).")
    item_ids: list[int] = Field(default_factory=list, max_length=100_000, description="Items to assign.")
    count: int = Field(
        0, ge=0, le=100_000, description="And/or this many of the next free items in the queue."
    )


class AssignmentOut(BaseModel):
    user_id: int
    items: int = Field(description="Items assigned to the labeler that still need labels.")
