"""Settling an item: from its active labels, decide where it stands — still needing labels, labeled (one
labeler's label, or the consensus), or needing review — and move every counter, the label that counts and
the queue order with it, in the caller's transaction. Every change to an item's labels ends here, so the
counters always equal a recount."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.items.counts import CLAIMED, WAITING, add_counts, upsert_adding
from tessera.items.models import Item, ItemOrder, ItemState
from tessera.labels.models import Annotation, AnnotationStatus, Prelabel
from tessera.labels.validation import label_classes
from tessera.projects.models import Project
from tessera.queue.models import LabelingSettings
from tessera.review.agreement import ConsensusRule, find_consensus
from tessera.review.models import ClassCount, ItemLabel, ItemLabelClass, LabelSource


@dataclass(frozen=True)
class Standing:
    """What the counters count of one item."""

    state: ItemState
    claimed: bool
    waiting: bool
    classes: frozenset[int]

    @classmethod
    def of(cls, session: Session, item: Item) -> Standing:
        label = item_label(session, item.id)
        unlabeled = item.state == ItemState.unlabeled
        return cls(
            ItemState(item.state),
            unlabeled and item.claim_count > 0,
            unlabeled and item.label_count > 0 and item.claim_count == 0,
            frozenset(label_classes(label.payload)) if label is not None else frozenset(),
        )


@dataclass
class _Known:
    """Rows known to be absent, for the items of one submission (the identity map holds those present)."""

    absent_labels: set[int]
    absent_prelabels: set[int]


_KNOWN = "tessera_known_item_rows"


@contextmanager
def items_loaded(session: Session, item_ids: Sequence[int]) -> Iterator[dict[int, Item]]:
    """Load the items, their labels that count and their pre-filled labels in three queries, for a call
    that settles several items: each later look-up is then answered from the session, present or not,
    instead of a query per item and row. Yields the items by id."""
    ids = sorted(set(item_ids))
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(ids)))}
    # Into the identity map, where session.get finds them.
    labels = {row.item_id for row in session.scalars(select(ItemLabel).where(ItemLabel.item_id.in_(ids)))}
    prelabels = {row.item_id for row in session.scalars(select(Prelabel).where(Prelabel.item_id.in_(ids)))}
    session.info[_KNOWN] = _Known(set(ids) - labels, set(ids) - prelabels)
    try:
        yield items
    finally:
        session.info.pop(_KNOWN, None)


def item_label(session: Session, item_id: int) -> ItemLabel | None:
    known = session.info.get(_KNOWN)
    if known is not None and item_id in known.absent_labels:
        return None
    return session.get(ItemLabel, item_id)


def account(session: Session, item: Item, before: Standing) -> None:
    """Move the project's counters from `before` to the item's standing now, and keep the item in the
    labeling order exactly while it is unlabeled."""
    after = Standing.of(session, item)
    deltas: dict[str, int] = {}
    if before.state != after.state:
        deltas = {before.state.value: -1, after.state.value: 1}
    deltas[CLAIMED] = int(after.claimed) - int(before.claimed)
    deltas[WAITING] = int(after.waiting) - int(before.waiting)
    add_counts(session, item.project_id, deltas)
    for class_id in before.classes ^ after.classes:
        added = class_id in after.classes
        upsert_adding(
            session,
            ClassCount,
            {"project_id": item.project_id, "class_id": class_id},
            {"items": 1 if added else -1},
        )
        key = {"project_id": item.project_id, "class_id": class_id, "item_id": item.id}
        if added:
            session.add(ItemLabelClass(**key))
        else:
            session.execute(delete(ItemLabelClass).filter_by(**key))
    if before.state != after.state:
        _place_in_order(session, item, queued=after.state == ItemState.unlabeled)


def _place_in_order(session: Session, item: Item, *, queued: bool) -> None:
    key = {"project_id": item.project_id, "rank": item.rank, "item_id": item.id}
    if queued:
        if session.get(ItemOrder, (item.project_id, item.rank, item.id)) is None:
            session.add(ItemOrder(**key))
    else:
        session.execute(
            delete(ItemOrder).where(
                ItemOrder.project_id == item.project_id,
                ItemOrder.rank == item.rank,
                ItemOrder.item_id == item.id,
            )
        )


def active_labels(session: Session, item_id: int) -> list[dict[str, Any]]:
    return [
        dict(payload)
        for payload in session.scalars(
            select(Annotation.payload)
            .where(Annotation.item_id == item_id, Annotation.status == AnnotationStatus.active)
            .order_by(Annotation.id)
        )
    ]


def settle(session: Session, item: Item, project: Project, settings: LabelingSettings) -> None:
    """Decide the item's state from its active labels. The count of labels is always brought up to date;
    the state and the label that counts are left alone where a person decided them: a reviewer's label,
    and a skipped or removed item (a co-labeler's late submission waits for the reviewer's decision)."""
    labels = active_labels(session, item.id)
    item.label_count = len(labels)
    if item.state in (ItemState.skipped, ItemState.removed):
        return
    current = item_label(session, item.id)
    if current is not None and current.source == LabelSource.review:
        return
    needed = max(item.labels_needed, settings.min_labelers)
    if len(labels) < needed:
        _set_label(session, item, current, None)
        item.state = ItemState.unlabeled
        return
    if settings.max_labelers == 1 or len(labels) == 1:
        _set_label(session, item, current, (labels[0], LabelSource.single, None))
        item.state = ItemState.labeled
        return
    rule = ConsensusRule(threshold=settings.agreement_threshold, iou_threshold=settings.iou_threshold)
    agreement = find_consensus(project.task_type, labels, rule)
    if agreement.agreed and agreement.label is not None:
        _set_label(session, item, current, (agreement.label, LabelSource.consensus, agreement.score))
        item.state = ItemState.labeled
    elif len(labels) < settings.max_labelers:
        _set_label(session, item, current, None)
        item.labels_needed, item.state = len(labels) + 1, ItemState.unlabeled  # one more labeler
    else:
        _set_label(session, item, current, None)
        item.state = ItemState.needs_review


def _set_label(
    session: Session,
    item: Item,
    current: ItemLabel | None,
    label: tuple[dict[str, Any], LabelSource, float | None] | None,
) -> None:
    """Make `label` the item's label that counts (None: it has none); `current` is its row, if any."""
    known = session.info.get(_KNOWN)
    if label is None:
        if current is not None:
            session.delete(current)
            session.flush()
            if known is not None:
                known.absent_labels.add(item.id)
        return
    payload, source, agreement = label
    if current is None:
        current = ItemLabel(item_id=item.id, project_id=item.project_id, payload=payload, source=source)
        session.add(current)
        if known is not None:
            known.absent_labels.discard(item.id)
    current.payload, current.source, current.agreement = payload, source, agreement
    current.decided_at = clock.now()
    current.prelabel_outcome = prelabel_outcome(session, item.id, payload)
    session.flush()


def prelabel_outcome(session: Session, item_id: int, payload: dict[str, Any]) -> str | None:
    """accepted when the label that counts is the pre-filled one, corrected when it differs, None when
    the item had none."""
    known = session.info.get(_KNOWN)
    if known is not None and item_id in known.absent_prelabels:
        return None
    offered = session.get(Prelabel, item_id)
    if offered is None:
        return None
    return "accepted" if offered.payload == payload else "corrected"
