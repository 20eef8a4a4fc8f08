"""Settling an item: from its active labels, decide where it stands — still needing labels, labeled (one
labeler's label, or the consensus), or needing review — and move every counter, the label that counts and
the queue order with it, in the caller's transaction. Every change to an item's labels ends here, so the
counters always equal a recount."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, Table, bindparam, delete, select
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
    """What one call knows of its items' rows: their labels that count and pre-filled labels (held here,
    since the session's identity map holds unchanged rows only weakly), those known absent, and each
    item's active labels in order, kept up to date by the call (`note_label`)."""

    rows: dict[tuple[type, int], Any]
    absent: set[tuple[type, int]]
    active: dict[int, list[dict[str, Any]]]
    leaving_order: list[tuple[int, int, int]] = field(default_factory=list)  # deleted at the end, at once


_KNOWN = "tessera_known_item_rows"
# items_loaded's four queries, built once (every submit runs them) and run with the ids as a parameter.
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_ITEMS = select(Item).where(Item.id.in_(_IDS))
_ITEM_LABELS = select(ItemLabel).where(ItemLabel.item_id.in_(_IDS))
_PRELABELS = select(Prelabel).where(Prelabel.item_id.in_(_IDS))
_ACTIVE_LABELS = (
    select(Annotation.item_id, Annotation.payload)
    .where(Annotation.item_id.in_(_IDS), Annotation.status == AnnotationStatus.active)
    .order_by(Annotation.id)
)


@contextmanager
def items_loaded(session: Session, item_ids: Sequence[int]) -> Iterator[dict[int, Item]]:
    """Load the items, their labels that count, their pre-filled labels and their active labels in four
    queries, for a call that settles several items: each later look-up is then answered from memory,
    present or absent, instead of a query per item and row. Yields the items by id."""
    ids = sorted(set(item_ids))
    given = {"ids": ids}
    items = {item.id: item for item in session.scalars(_ITEMS, given)}
    rows: dict[tuple[type, int], Any] = {}
    for label in session.scalars(_ITEM_LABELS, given):
        rows[(ItemLabel, label.item_id)] = label
    for offered in session.scalars(_PRELABELS, given):
        rows[(Prelabel, offered.item_id)] = offered
    active: dict[int, list[dict[str, Any]]] = {item_id: [] for item_id in ids}
    for item_id, payload in session.execute(_ACTIVE_LABELS, given):
        active[item_id].append(dict(payload))
    models: tuple[type, ...] = (ItemLabel, Prelabel)
    absent = {(model, item_id) for model in models for item_id in ids} - set(rows)
    known = session.info[_KNOWN] = _Known(rows, absent, active)
    try:
        yield items
        if known.leaving_order:  # by primary key, one executemany (a row-value IN would scan the table)
            order = ItemOrder.__table__
            assert isinstance(order, Table)
            session.execute(
                delete(order).where(
                    order.c.project_id == bindparam("p"),
                    order.c.rank == bindparam("r"),
                    order.c.item_id == bindparam("i"),
                ),
                [{"p": p, "r": r, "i": i} for p, r, i in known.leaving_order],
            )
    finally:
        session.info.pop(_KNOWN, None)


def note_label(session: Session, item_id: int, payload: dict[str, Any]) -> None:
    """A new active label of an item of the running `items_loaded` call."""
    known = session.info.get(_KNOWN)
    if known is not None:
        known.active[item_id].append(dict(payload))


def _known_row(session: Session, model: type, item_id: int) -> Any:
    known = session.info.get(_KNOWN)
    if known is not None:
        if (model, item_id) in known.absent:
            return None
        if (model, item_id) in known.rows:
            return known.rows[(model, item_id)]
    return session.get(model, item_id)


def _remember(session: Session, model: type, item_id: int, row: Any) -> None:
    known = session.info.get(_KNOWN)
    if known is None:
        return
    if row is None:
        known.rows.pop((model, item_id), None)
        known.absent.add((model, item_id))
    else:
        known.rows[(model, item_id)] = row
        known.absent.discard((model, item_id))


def item_label(session: Session, item_id: int) -> ItemLabel | None:
    label: ItemLabel | None = _known_row(session, ItemLabel, item_id)
    return label


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
    elif (known := session.info.get(_KNOWN)) is not None:
        known.leaving_order.append((item.project_id, item.rank, item.id))
    else:
        session.execute(
            delete(ItemOrder).where(
                ItemOrder.project_id == item.project_id,
                ItemOrder.rank == item.rank,
                ItemOrder.item_id == item.id,
            )
        )


def active_labels(session: Session, item_id: int) -> list[dict[str, Any]]:
    known = session.info.get(_KNOWN)
    if known is not None and item_id in known.active:
        return [dict(payload) for payload in known.active[item_id]]
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
    if label is None:
        if current is not None:
            session.delete(current)
            session.flush()
            _remember(session, ItemLabel, item.id, None)
        return
    payload, source, agreement = label
    if current is None:
        current = ItemLabel(item_id=item.id, project_id=item.project_id, payload=payload, source=source)
        session.add(current)
        _remember(session, ItemLabel, item.id, current)
    current.payload, current.source, current.agreement = payload, source, agreement
    current.decided_at = clock.now()
    current.prelabel_outcome = prelabel_outcome(session, item.id, payload)
    if session.info.get(_KNOWN) is None:
        session.flush()  # else the call's one flush at its end writes it with the rest


def prelabel_outcome(session: Session, item_id: int, payload: dict[str, Any]) -> str | None:
    """accepted when the label that counts is the pre-filled one, corrected when it differs, None when
    the item had none."""
    offered = _known_row(session, Prelabel, item_id)
    if offered is None:
        return None
    return "accepted" if offered.payload == payload else "corrected"
