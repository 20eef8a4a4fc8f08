"""A labeler's work on a task: submit labels, skip an item, give the task back, and go back to change a
label until a reviewer has decided the item. Each call is one transaction; each item it touches is
settled (review/settle.py), its counters moved and its history recorded."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Forbidden, Invalid, NotFound
from tessera.items.counts import upsert_adding
from tessera.items.models import Item, ItemState
from tessera.labels.models import Annotation, AnnotationStatus, LabelEvent
from tessera.labels.validation import LabelContext, validate_label
from tessera.projects.label_classes import fold_name
from tessera.projects.models import Project, TaskType
from tessera.queue.models import ItemOutcome, Task, TaskItem, TaskStatus
from tessera.queue.service import close_task, ensure_labeling_open, open_task_of, renew_lease
from tessera.queue.settings import labeling_settings
from tessera.review.models import ItemLabel, LabelerCount, LabelSource, RateCount
from tessera.review.settle import Standing, account, items_loaded, note_label, settle

# Task types whose labels lie in the image's pixels: only their validation needs the image's size, so
# only they read it (a classification submit must not open every image in the write transaction).
DRAWN_ON_IMAGES = frozenset(
    {TaskType.object_detection, TaskType.instance_segmentation, TaskType.semantic_segmentation}
)
ImageSize = Callable[[Item], tuple[int, int] | None]  # an image item's (width, height), read when needed


# Asked on every submit: built once, run with parameters.
_INSERT_ANNOTATIONS = insert(cast(Table, Annotation.__table__))
_INSERT_EVENTS = insert(cast(Table, LabelEvent.__table__))
_SUBMITTED_WITH_KEYS = (
    select(Annotation.id)
    .where(
        Annotation.user_id == bindparam("user_id"),
        Annotation.idempotency_key.in_(bindparam("keys", expanding=True)),
    )
    .limit(1)
)
_PENDING_IN_TASK = select(TaskItem).where(
    TaskItem.task_id == bindparam("task_id"), TaskItem.outcome == ItemOutcome.pending
)


@dataclass(frozen=True)
class Submission:
    item_id: int
    label: Mapping[str, Any]
    seconds: float | None = None


def label_context(project: Project, item: Item, image_size: ImageSize | None) -> LabelContext:
    classes = {fold_name(label_class.name): label_class.id for label_class in project.label_classes}
    width, height = item.width, item.height
    if project.task_type in DRAWN_ON_IMAGES and width is None and image_size is not None:
        size = image_size(item)
        if size is not None:
            item.width, item.height = width, height = size
    return LabelContext(project.task_type, classes, width=width, height=height, text=item.text)


def checked_label(label: Mapping[str, Any], context: LabelContext, where: str = "") -> dict[str, Any]:
    """The label in stored form, or `Invalid` naming the field as the request body has it (`where` is
    the place of the `label` object in the body, e.g. "labels.2.")."""
    try:
        return validate_label(label, context)
    except Invalid as error:
        if not where:
            raise
        problems = error.details.get("errors") or [{"field": error.field, "message": error.message}]
        first = problems[0]
        extra = {key: value for key, value in error.details.items() if key != "errors"}
        raise Invalid(first["message"], field=f"{where}{first['field'] or 'label'}", details=extra) from None


def submit_labels(
    session: Session,
    *,
    project: Project,
    task: Task,
    user_id: int,
    submissions: Sequence[Submission],
    idempotency_key: str | None = None,
    image_size: ImageSize | None = None,
) -> Task:
    """Submit labels for items of the task. A retried call with the same idempotency key changes nothing
    and answers the same; on an expired lease → 409 "lease expired" and nothing is written."""
    if idempotency_key and _already_submitted(session, user_id, idempotency_key, submissions):
        return task
    ensure_labeling_open(project)
    open_task_of(session, task, user_id)
    settings = labeling_settings(session, project)
    pending = _pending_items(session, task)
    _refuse_repeats(submissions)
    stored: dict[int, dict[str, Any]] = {}
    for index, submission in enumerate(submissions):
        if submission.item_id not in pending:
            raise Invalid(
                f"item {submission.item_id} is not waiting in task {task.id}", field=f"labels.{index}"
            )
    annotations: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    with items_loaded(session, [submission.item_id for submission in submissions]) as items:
        for index, submission in enumerate(submissions):  # every label is checked before any is written
            context = label_context(project, items[submission.item_id], image_size)
            stored[submission.item_id] = checked_label(submission.label, context, f"labels.{index}.")
        for submission in submissions:
            item = items[submission.item_id]
            before = Standing.of(session, item)
            key = f"{idempotency_key}:{item.id}" if idempotency_key else None
            annotations.append(
                {
                    "project_id": project.id, "item_id": item.id, "user_id": user_id, "task_id": task.id,
                    "payload": stored[item.id], "idempotency_key": key, "seconds": submission.seconds,
                }
            )  # fmt: skip
            note_label(session, item.id, stored[item.id])
            item.claim_count = max(0, item.claim_count - 1)
            item.version += 1
            pending.pop(item.id).outcome = ItemOutcome.submitted
            settle(session, item, project, settings)
            account(session, item, before)
            events.append(event_row(item, user_id, "submit", None, stored[item.id]))
            _count_labeler(session, project.id, user_id, submission.seconds)
        # Each as one Core statement for the page on the session's connection: not one INSERT (with
        # RETURNING) per row as the ORM's flush would, nor the ORM's bulk insert around the executemany
        # (a tenth of a submit). The items' changes are flushed at the latest by the commit.
        connection = session.connection()
        connection.execute(_INSERT_ANNOTATIONS, annotations)
        connection.execute(_INSERT_EVENTS, events)
    _finish_or_renew(session, task, still_pending=list(pending))
    return task


def _refuse_repeats(submissions: Sequence[Submission]) -> None:
    """One label per item per submission: a second one would be ambiguous, so nothing is written."""
    seen: dict[int, int] = {}
    for index, submission in enumerate(submissions):
        if submission.item_id in seen:
            raise Invalid(
                f"item {submission.item_id} appears twice in one submission "
                f"(labels.{seen[submission.item_id]} and labels.{index})",
                field=f"labels.{index}.item_id",
            )
        seen[submission.item_id] = index


def _already_submitted(session: Session, user_id: int, key: str, submissions: Sequence[Submission]) -> bool:
    keys = [f"{key}:{submission.item_id}" for submission in submissions]
    return session.scalar(_SUBMITTED_WITH_KEYS, {"user_id": user_id, "keys": keys}) is not None


def _pending_items(session: Session, task: Task) -> dict[int, TaskItem]:
    rows = session.scalars(_PENDING_IN_TASK, {"task_id": task.id})
    return {task_item.item_id: task_item for task_item in rows}


def _finish_or_renew(session: Session, task: Task, still_pending: list[int]) -> None:
    """Close the task when none of its items is pending any more, else renew its lease."""
    if not still_pending:
        close_task(session, task, TaskStatus.submitted, pending=[])
    else:
        renew_lease(session, task)


def skip_item(session: Session, *, project: Project, task: Task, user_id: int, item_id: int) -> Task:
    """The labeler skips one item of the task: it leaves the queue until a reviewer decides."""
    ensure_labeling_open(project)
    open_task_of(session, task, user_id)
    pending = _pending_items(session, task)
    task_item = pending.pop(item_id, None)
    if task_item is None:
        raise Invalid(f"item {item_id} is not waiting in task {task.id}", field="item_id")
    item = session.get_one(Item, item_id)
    before = Standing.of(session, item)
    item.claim_count = max(0, item.claim_count - 1)
    item.version += 1
    if item.state == ItemState.unlabeled:
        item.state = ItemState.skipped
    task_item.outcome = ItemOutcome.skipped
    session.flush()
    account(session, item, before)
    record(session, item, user_id, "skip", None, None)
    _finish_or_renew(session, task, still_pending=list(pending))
    return task


def release_task(session: Session, *, task: Task, user_id: int, by_manager: bool = False) -> Task:
    if task.user_id != user_id and not by_manager:
        raise Forbidden(f"task {task.id} is another labeler's")
    if task.status != TaskStatus.open:
        raise Conflict(f"task {task.id} is {task.status.value}")
    close_task(session, task, TaskStatus.released)
    return task


def change_label(
    session: Session,
    *,
    project: Project,
    annotation: Annotation,
    user_id: int,
    label: Mapping[str, Any],
    image_size: ImageSize | None = None,
) -> Annotation:
    """A labeler changes their own label, until a reviewer has decided the item."""
    if annotation.user_id != user_id:
        raise Forbidden(f"annotation {annotation.id} is another labeler's")
    if annotation.status != AnnotationStatus.active:
        raise Conflict(f"annotation {annotation.id} was {annotation.status.value} in review")
    ensure_labeling_open(project)
    item = session.get_one(Item, annotation.item_id)
    decided = session.get(ItemLabel, item.id)
    if decided is not None and decided.source == LabelSource.review:
        raise Conflict(f"item {item.id} was reviewed; its label can no longer change")
    stored = checked_label(label, label_context(project, item, image_size))
    before, previous = Standing.of(session, item), annotation.payload
    annotation.payload, annotation.updated_at = stored, clock.now()
    item.version += 1
    session.flush()
    if item.state in (ItemState.unlabeled, ItemState.labeled, ItemState.needs_review):
        settle(session, item, project, labeling_settings(session, project))
    account(session, item, before)
    record(session, item, user_id, "change", previous, stored)
    return annotation


def get_annotation(session: Session, annotation_id: int) -> Annotation:
    annotation = session.get(Annotation, annotation_id)
    if annotation is None:
        raise NotFound(f"annotation {annotation_id} does not exist")
    return annotation


def record(
    session: Session,
    item: Item,
    user_id: int | None,
    action: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    session.add(LabelEvent(**event_row(item, user_id, action, before, after)))


def event_row(
    item: Item,
    user_id: int | None,
    action: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The columns of a `LabelEvent`: who did what to the item's label, from what to what."""
    return {
        "project_id": item.project_id,
        "item_id": item.id,
        "user_id": user_id,
        "action": action,
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
    }


def _count_labeler(session: Session, project_id: int, user_id: int, seconds: float | None) -> None:
    upsert_adding(
        session,
        LabelerCount,
        {"project_id": project_id, "user_id": user_id},
        {"items": 1, "seconds": float(seconds or 0.0)},
    )
    upsert_adding(session, RateCount, {"project_id": project_id, "hour": _hour(clock.now())}, {"labels": 1})


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
