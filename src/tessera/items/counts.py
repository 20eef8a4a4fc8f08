"""The project's item counters (`ItemCount`): moved in the same transaction as the change they count,
read by the dashboard in one indexed query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tessera.items.models import Item, ItemCount, ItemState

CLAIMED = "claimed"  # unlabeled items held by an open task
WAITING = "waiting"  # unlabeled items with some of their labels, in no task: waiting for more labelers


def upsert_adding(session: Session, table: Any, keys: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """INSERT the row, or add `values` to the existing one's columns (one statement, race-free on both
    databases: two transactions adding at once both count)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**keys, **values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: getattr(table, name) + statement.excluded[name] for name in values},
    )
    session.execute(statement)


def add_counts(session: Session, project_id: int, deltas: Mapping[str, int]) -> None:
    """Add each delta to the project's counter of that name (state names, CLAIMED, WAITING)."""
    for name, delta in deltas.items():
        if delta:
            upsert_adding(session, ItemCount, {"project_id": project_id, "name": name}, {"value": delta})


def moved(from_state: ItemState, to_state: ItemState, count: int = 1) -> dict[str, int]:
    """The deltas of `count` items moving from one state to another."""
    if from_state == to_state:
        return {}
    return {from_state.value: -count, to_state.value: count}


def read_counts(session: Session, project_id: int) -> dict[str, int]:
    rows = session.execute(select(ItemCount.name, ItemCount.value).where(ItemCount.project_id == project_id))
    return {name: int(value) for name, value in rows}


def recount_items(session: Session, project_id: int) -> dict[str, int]:
    """Count the project's items per state (and claimed, waiting) from the rows, and store the counts:
    after a load, and as the check that the maintained counters are right."""
    counts = {state.value: 0 for state in ItemState}
    query = select(Item.state, func.count()).where(Item.project_id == project_id).group_by(Item.state)
    for state, number in session.execute(query):
        counts[ItemState(state).value] = int(number)
    unlabeled = (Item.project_id == project_id, Item.state == ItemState.unlabeled)
    counts[CLAIMED] = int(session.scalar(select(func.count()).where(*unlabeled, Item.claim_count > 0)) or 0)
    waiting = (*unlabeled, Item.label_count > 0, Item.claim_count == 0)
    counts[WAITING] = int(session.scalar(select(func.count()).where(*waiting)) or 0)
    session.query(ItemCount).filter(ItemCount.project_id == project_id).delete()
    session.add_all(
        ItemCount(project_id=project_id, name=name, value=value) for name, value in counts.items()
    )
    session.flush()
    return counts
