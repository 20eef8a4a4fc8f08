"""A reviewer's decisions on an item, each checked against the item's version: two reviewers acting on the
same item at once — the second gets 409 with the item as it now stands, never a silent overwrite.

- reject: the item's labels are taken back (kept in the history, marked rejected) and it returns to the
  unlabeled queue; for a skipped item, the same: back to the queue.
- accept a skip: the item is taken out of the project (state `removed`).
- set the label: the reviewer's label is the one that counts (for consensus items too); the item is
  labeled and its labelers can no longer change theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tessera.core.errors import Conflict
from tessera.items.models import Item, ItemState
from tessera.labels.models import Annotation, AnnotationStatus
from tessera.projects.models import Project
from tessera.queue.models import ItemOutcome, TaskItem
from tessera.queue.settings import labeling_settings
from tessera.review.models import ItemLabel, LabelSource
from tessera.review.settle import Standing, account, prelabel_outcome, settle
from tessera.review.workflow import ImageSize, checked_label, label_context, record

REVIEWABLE = (ItemState.labeled, ItemState.needs_review, ItemState.skipped)


def _refuse(item: Item, message: str) -> Conflict:
    """A 409 that carries the item as it now stands, so that the reviewer can look again."""
    return Conflict(message, details={"item_id": item.id, "version": item.version, "state": item.state.value})


def _check_version(item: Item, version: int) -> None:
    """409 with the item if the reviewer loaded another version than the one read here."""
    if item.version != version:
        raise _refuse(
            item, f"item {item.id} changed since you loaded it (version {version}, now {item.version})"
        )


def _take_version(session: Session, item: Item, version: int) -> None:
    """Bump the item's version if it is still `version` (one guarded UPDATE): else 409 with the item.
    Called once every other check has passed, so that a refusal never reports a bump it rolled back."""
    taken = session.execute(
        update(Item).where(Item.id == item.id, Item.version == version).values(version=Item.version + 1)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(item)
        raise _refuse(
            item, f"item {item.id} changed since you loaded it (version {version}, now {item.version})"
        )
    session.refresh(item)


def reject_item(session: Session, *, item: Item, version: int, reviewer_id: int) -> Item:
    _check_version(item, version)
    if item.state not in REVIEWABLE:
        raise _refuse(item, f"item {item.id} is {item.state.value}: there is nothing to reject")
    _take_version(session, item, version)
    before = Standing.of(session, item)
    rejected = session.scalars(
        select(Annotation).where(Annotation.item_id == item.id, Annotation.status == AnnotationStatus.active)
    ).all()
    for annotation in rejected:
        annotation.status = AnnotationStatus.rejected
    session.execute(  # its labelers may label it again
        update(TaskItem)
        .where(TaskItem.item_id == item.id, TaskItem.outcome == ItemOutcome.submitted)
        .values(outcome=ItemOutcome.rejected)
    )
    label = session.get(ItemLabel, item.id)
    previous = dict(label.payload) if label is not None else None
    if label is not None:
        session.delete(label)
    item.state, item.label_count, item.labels_needed = ItemState.unlabeled, 0, 0
    session.flush()
    account(session, item, before)
    record(session, item, reviewer_id, "reject", previous, None)
    return item


def accept_skip(session: Session, *, item: Item, version: int, reviewer_id: int) -> Item:
    _check_version(item, version)
    if item.state != ItemState.skipped:
        raise _refuse(item, f"item {item.id} is {item.state.value}, not skipped")
    _take_version(session, item, version)
    before = Standing.of(session, item)
    item.state = ItemState.removed
    session.flush()
    account(session, item, before)
    record(session, item, reviewer_id, "accept_skip", None, None)
    return item


def set_item_label(
    session: Session,
    *,
    project: Project,
    item: Item,
    version: int,
    reviewer_id: int,
    label: Mapping[str, Any],
    image_size: ImageSize | None = None,
) -> Item:
    _check_version(item, version)
    if item.state not in (*REVIEWABLE, ItemState.unlabeled):
        raise _refuse(item, f"item {item.id} is {item.state.value}")
    stored = checked_label(label, label_context(project, item, image_size))
    _take_version(session, item, version)
    before = Standing.of(session, item)
    current = session.get(ItemLabel, item.id)
    previous = dict(current.payload) if current is not None else None
    if current is None:
        current = ItemLabel(
            item_id=item.id, project_id=item.project_id, payload=stored, source=LabelSource.review
        )
        session.add(current)
    current.prelabel_outcome = prelabel_outcome(session, item.id, stored)
    current.payload, current.source, current.decided_by_id, current.agreement = (
        stored,
        LabelSource.review,
        reviewer_id,
        None,
    )
    item.state = ItemState.labeled
    session.flush()
    account(session, item, before)
    record(session, item, reviewer_id, "set", previous, stored)
    return item


def resettle_item(session: Session, *, project: Project, item: Item) -> Item:
    """Settle the item again from its labels (after the project's consensus settings changed)."""
    before = Standing.of(session, item)
    settle(session, item, project, labeling_settings(session, project))
    account(session, item, before)
    return item
