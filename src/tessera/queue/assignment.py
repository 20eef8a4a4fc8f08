"""Assigning work to named labelers: chosen items, or a share of the queue (the next N unassigned items in
the project's order). The queue gives a labeler their assigned items before any other, and never gives
an item assigned to someone else; unassigning puts the items back in everyone's queue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from tessera.accounts.memberships import role_in_project
from tessera.core.errors import Invalid
from tessera.items.models import Item, ItemOrder, ItemState

MAX_ASSIGN = 100_000


def _check_labeler(session: Session, project_id: int, user_id: int) -> None:
    if role_in_project(session, user_id=user_id, project_id=project_id) is None:
        raise Invalid(f"user {user_id} is not a member of project {project_id}", field="user_id")


def assign_items(
    session: Session, *, project_id: int, user_id: int, item_ids: Sequence[int] = (), count: int = 0
) -> int:
    """Assign the named items (each still unlabeled) and/or the next `count` free items; returns how many
    items were assigned."""
    _check_labeler(session, project_id, user_id)
    if not item_ids and count <= 0:
        raise Invalid("name items or a count of items to assign", field="count")
    if len(item_ids) > MAX_ASSIGN or count > MAX_ASSIGN:
        raise Invalid(f"at most {MAX_ASSIGN:,} items at once", field="count")
    assigned = 0
    if item_ids:
        wanted = set(item_ids)
        found = set(
            session.scalars(
                select(Item.id).where(
                    Item.id.in_(wanted), Item.project_id == project_id, Item.state == ItemState.unlabeled
                )
            )
        )
        if missing := sorted(wanted - found):
            raise Invalid(f"items {missing[:10]} are not unlabeled items of the project", field="item_ids")
        assigned += _assign(session, Item.id.in_(found), user_id)
    if count > 0:
        free = (
            select(Item.id)
            .join(ItemOrder, and_(ItemOrder.item_id == Item.id, ItemOrder.project_id == project_id))
            .where(
                Item.project_id == project_id,
                Item.state == ItemState.unlabeled,
                Item.assigned_user_id.is_(None),
                Item.claim_count == 0,
            )
            .order_by(ItemOrder.rank, ItemOrder.item_id)
            .limit(count)
        )
        assigned += _assign(session, Item.id.in_(list(session.scalars(free))), user_id)
    return assigned


def _assign(session: Session, which: object, user_id: int | None) -> int:
    result = session.execute(
        update(Item).where(which).values(assigned_user_id=user_id, version=Item.version + 1)  # type: ignore[arg-type]
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def unassign_items(session: Session, *, project_id: int, user_id: int) -> int:
    """Give the labeler's assigned items that still need labels back to everyone's queue."""
    return _assign(
        session,
        and_(
            Item.assigned_user_id == user_id,
            Item.project_id == project_id,
            Item.state == ItemState.unlabeled,
        ),
        None,
    )


def list_assignments(session: Session, project_id: int) -> dict[int, int]:
    """Labeler id → items assigned to them that still need labels."""
    rows = session.execute(
        select(Item.assigned_user_id, func.count())
        .where(
            Item.assigned_user_id.is_not(None),
            Item.project_id == project_id,
            Item.state == ItemState.unlabeled,
        )
        .group_by(Item.assigned_user_id)
    )
    return {int(user_id or 0): int(count) for user_id, count in rows}
