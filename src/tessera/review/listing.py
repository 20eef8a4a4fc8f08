"""What reviewers look at: a project's items by state, labeler, class and time, newest decisions first
is not needed here — pages go by item id — and one item with every labeler's label side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, exists, select
from sqlalchemy.orm import Session

from tessera.items.models import Item, ItemState
from tessera.labels.models import Annotation, AnnotationStatus
from tessera.review.models import ItemLabel, ItemLabelClass, LabelIssue


@dataclass(frozen=True)
class ReviewFilter:
    states: Sequence[ItemState] = (ItemState.labeled, ItemState.needs_review, ItemState.skipped)
    labeler_id: int | None = None  # items this user labeled
    class_id: int | None = None  # items whose label that counts uses this class
    since: datetime | None = None  # label decided (or last changed) at or after
    until: datetime | None = None
    prelabel: str | None = None  # accepted, corrected: items offered a pre-filled label, by what became of it
    possible_label_error: bool = False  # items ML assist's last training found likely mislabeled


def list_review_items(
    session: Session, project_id: int, wanted: ReviewFilter, *, after_id: int = 0, limit: int = 50
) -> Sequence[Item]:
    query = select(Item).where(
        Item.project_id == project_id, Item.id > after_id, Item.state.in_(wanted.states)
    )
    if wanted.labeler_id is not None:
        query = query.where(
            exists().where(
                Annotation.item_id == Item.id,
                Annotation.user_id == wanted.labeler_id,
                Annotation.status == AnnotationStatus.active,
            )
        )
    if wanted.class_id is not None:
        query = query.where(
            exists().where(
                ItemLabelClass.project_id == project_id,
                ItemLabelClass.class_id == wanted.class_id,
                ItemLabelClass.item_id == Item.id,
            )
        )
    if wanted.prelabel is not None:
        kept = select(ItemLabel.item_id).where(
            ItemLabel.project_id == project_id, ItemLabel.prelabel_outcome == wanted.prelabel
        )
        query = query.where(Item.id.in_(kept))
    if wanted.possible_label_error:
        flagged = select(LabelIssue.item_id).where(LabelIssue.project_id == project_id)
        query = query.where(Item.id.in_(flagged))
    if wanted.since is not None or wanted.until is not None:
        decided = select(ItemLabel.item_id).where(ItemLabel.project_id == project_id)
        if wanted.since is not None:
            decided = decided.where(ItemLabel.decided_at >= wanted.since)
        if wanted.until is not None:
            decided = decided.where(ItemLabel.decided_at < wanted.until)
        query = query.where(Item.id.in_(decided))
    return session.scalars(query.order_by(Item.id).limit(limit)).all()


def item_annotations(session: Session, item_id: int) -> Sequence[Annotation]:
    """Every label the item was given, active and rejected, oldest first."""
    return session.scalars(
        select(Annotation).where(Annotation.item_id == item_id).order_by(Annotation.id)
    ).all()


def labeler_annotations(
    session: Session, project_id: int, user_id: int, *, before_id: int | None = None, limit: int = 50
) -> Sequence[Row[Annotation, str, str | None, ItemState]]:
    """A labeler's own labels in the project, newest first, with their item's path, text and state: to go
    back and change them."""
    query = (
        select(Annotation, Item.path, Item.text, Item.state)
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.project_id == project_id, Annotation.user_id == user_id)
    )
    if before_id:
        query = query.where(Annotation.id < before_id)
    return session.execute(query.order_by(Annotation.id.desc()).limit(limit)).all()
