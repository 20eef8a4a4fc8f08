"""Changing a project's label classes once labeling has started.

Renaming or reordering a class keeps every label (labels hold class ids). Adding or removing classes
mid-project needs the project paused first, and one of three ways on for its labels:

- `continue`: keep every label as it is (only possible when no removed class is in use);
- `start_over`: every label is taken back (kept in the history, rejected) and every item returns to the
  unlabeled queue;
- `start_over_keep`: the same, but each item's label that counted is offered to its next labeler as a
  pre-filled default to confirm or correct (a prelabeled task; the classes no longer in the project are
  dropped from it).

A start-over is a handful of set-based statements over the project's rows, one transaction, whatever the
project's size; the counters are recounted at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import delete, exists, insert, literal, select, update
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Invalid
from tessera.items.counts import recount_items
from tessera.items.models import Item, ItemOrder, ItemState
from tessera.labels.models import Annotation, AnnotationStatus, LabelEvent, Prelabel, PrelabelSource
from tessera.labels.validation import label_classes
from tessera.projects.label_classes import LabelClassSpec
from tessera.projects.models import Project, ProjectStatus
from tessera.projects.service import set_label_classes
from tessera.queue.models import ItemOutcome, Task, TaskItem, TaskStatus
from tessera.review.models import ClassCount, ItemLabel, ItemLabelClass


class LabelsOnClassChange(StrEnum):
    continue_ = "continue"
    start_over = "start_over"
    start_over_keep = "start_over_keep"


def change_label_classes(
    session: Session,
    *,
    project: Project,
    specs: Sequence[LabelClassSpec],
    labels: LabelsOnClassChange = LabelsOnClassChange.continue_,
    changed_by_id: int | None = None,
) -> Project:
    names = {label.id: label.name for label in project.label_classes}
    before = set(names)
    started = _labeling_started(session, project.id)
    set_label_classes(session, project, specs)
    after = {label.id for label in project.label_classes}
    added, removed = after - before, before - after
    if started and (added or removed or labels != LabelsOnClassChange.continue_):
        if project.status != ProjectStatus.paused:
            raise Conflict("pause the project before adding or removing label classes mid-project")
        in_use = sorted(removed & _classes_in_use(session, project.id))
        if in_use and labels == LabelsOnClassChange.continue_:
            listed = ", ".join(repr(names[class_id]) for class_id in in_use)
            raise Invalid(
                f"{'class' if len(in_use) == 1 else 'classes'} {listed} "
                f"{'is' if len(in_use) == 1 else 'are'} in use: "
                "choose start_over or start_over_keep to remove them",
                field="labels",
            )
    if labels != LabelsOnClassChange.continue_:
        start_over(
            session, project=project, keep=labels == LabelsOnClassChange.start_over_keep, by=changed_by_id
        )
        if labels == LabelsOnClassChange.start_over_keep and removed:
            _drop_classes_from_prelabels(session, project.id, removed)
    return project


def _labeling_started(session: Session, project_id: int) -> bool:
    return session.scalar(select(exists().where(Annotation.project_id == project_id))) is True


def _classes_in_use(session: Session, project_id: int) -> set[int]:
    """Classes of labels that count and of active labels (the latter read only for items not decided)."""
    used = set(
        session.scalars(
            select(ClassCount.class_id).where(ClassCount.project_id == project_id, ClassCount.items > 0)
        )
    )
    pending = select(Annotation.payload).where(
        Annotation.project_id == project_id,
        Annotation.status == AnnotationStatus.active,
        ~exists().where(ItemLabel.item_id == Annotation.item_id),
    )
    for payload in session.scalars(pending):
        used.update(label_classes(payload))
    return used


def start_over(session: Session, *, project: Project, keep: bool, by: int | None) -> None:
    """Take every label back and put every item (but the removed) back in the queue; with `keep`, each
    item's label that counted becomes its pre-filled default."""
    project_id, moment = project.id, clock.now()
    open_tasks = select(Task.id).where(Task.project_id == project_id, Task.status == TaskStatus.open)
    session.execute(
        update(TaskItem)
        .where(TaskItem.task_id.in_(open_tasks), TaskItem.outcome == ItemOutcome.pending)
        .values(outcome=ItemOutcome.skipped)
    )
    session.execute(  # every label is taken back: its labelers may label the item again
        update(TaskItem)
        .where(
            TaskItem.task_id.in_(select(Task.id).where(Task.project_id == project_id)),
            TaskItem.outcome == ItemOutcome.submitted,
        )
        .values(outcome=ItemOutcome.rejected)
    )
    session.execute(
        update(Task)
        .where(Task.project_id == project_id, Task.status == TaskStatus.open)
        .values(status=TaskStatus.released, closed_at=moment)
    )
    session.execute(
        insert(LabelEvent).from_select(
            ["project_id", "item_id", "user_id", "action", "before", "after", "at"],
            select(
                ItemLabel.project_id, ItemLabel.item_id, literal(by), literal("start_over"),
                ItemLabel.payload, literal(None), literal(moment),
            ).where(ItemLabel.project_id == project_id),
        )
    )  # fmt: skip
    session.execute(delete(Prelabel).where(Prelabel.project_id == project_id))
    if keep:
        session.execute(
            insert(Prelabel).from_select(
                ["item_id", "project_id", "payload", "source", "created_at"],
                select(
                    ItemLabel.item_id, ItemLabel.project_id, ItemLabel.payload,
                    literal(PrelabelSource.previous.value), literal(moment),
                ).where(ItemLabel.project_id == project_id),
            )
        )  # fmt: skip
    session.execute(
        update(Annotation)
        .where(Annotation.project_id == project_id, Annotation.status == AnnotationStatus.active)
        .values(status=AnnotationStatus.rejected, updated_at=moment)
    )
    for table in (ItemLabelClass, ClassCount, ItemLabel):
        session.execute(delete(table).where(table.project_id == project_id))
    prefilled = exists().where(Prelabel.item_id == Item.id)
    session.execute(
        update(Item)
        .where(Item.project_id == project_id, Item.state != ItemState.removed)
        .values(
            state=ItemState.unlabeled, label_count=0, claim_count=0, labels_needed=0,
            version=Item.version + 1, prelabeled=prefilled,
        )
    )  # fmt: skip
    session.execute(delete(ItemOrder).where(ItemOrder.project_id == project_id))
    session.execute(
        insert(ItemOrder).from_select(
            ["project_id", "rank", "item_id"],
            select(Item.project_id, Item.rank, Item.id)
            .where(Item.project_id == project_id, Item.state == ItemState.unlabeled)
            .order_by(Item.rank, Item.id),
        )
    )
    recount_items(session, project_id)


def _drop_classes_from_prelabels(session: Session, project_id: int, removed: set[int]) -> None:
    """Pre-filled labels keep only the classes still in the project; one left empty is no default."""
    rows = session.scalars(select(Prelabel).where(Prelabel.project_id == project_id)).all()
    for prelabel in rows:
        if not set(label_classes(prelabel.payload)) & removed:
            continue
        payload = _without_classes(prelabel.payload, removed)
        if payload is None:
            session.delete(prelabel)
            session.execute(update(Item).where(Item.id == prelabel.item_id).values(prelabeled=False))
        else:
            prelabel.payload = payload
    session.flush()


def _without_classes(payload: dict[str, object], removed: set[int]) -> dict[str, object] | None:
    if "classes" in payload:
        kept = [class_id for class_id in payload["classes"] if class_id not in removed]  # type: ignore[attr-defined]
        return {"classes": kept} if kept else None
    for key in ("boxes", "polygons", "spans"):
        if key in payload:
            return {key: [shape for shape in payload[key] if shape["class_id"] not in removed]}  # type: ignore[attr-defined]
    return None  # a mask with a removed class is no longer a default
