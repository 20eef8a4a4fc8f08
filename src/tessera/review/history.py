"""An item's audit history: every change to its labels — who, when, what they did, the label before and
after — oldest first, read by the reviewer (written by review/workflow.py `record` and `event_row`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from tessera.accounts.models import User
from tessera.labels.models import LabelEvent

# Through the index on the item (its rows in id order): built once, run with parameters.
_EVENTS_OF_ITEM = (
    select(
        LabelEvent.id, LabelEvent.item_id, LabelEvent.user_id, User.username, LabelEvent.action,
        LabelEvent.before, LabelEvent.after, LabelEvent.at,
    )
    .outerjoin(User, User.id == LabelEvent.user_id)
    .where(LabelEvent.item_id == bindparam("item_id"), LabelEvent.id > bindparam("after_id"))
    .order_by(LabelEvent.id)
    .limit(bindparam("limit"))
)  # fmt: skip


def item_history(session: Session, item_id: int, *, after_id: int = 0, limit: int = 50) -> Sequence[Row[Any]]:
    """The item's label events after `after_id`, oldest first: (id, item_id, user_id, username, action,
    before, after, at); a deleted user's events keep a null user."""
    given = {"item_id": item_id, "after_id": after_id, "limit": limit}
    return session.execute(_EVENTS_OF_ITEM, given).all()
