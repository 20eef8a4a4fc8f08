"""The project's item counters (`ItemCount`): moved in the same transaction as the change they count,
read by the dashboard in one indexed query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tessera.items.models import Item, ItemCount, ItemState

CLAIMED = "claimed"  # unlabeled items held by an open task
WAITING = "waiting"  # unlabeled items with some of their labels, in no task: waiting for more labelers
_PENDING = "tessera_pending_counter_deltas"  # session.info: deltas not yet written (see upsert_adding)


def upsert_adding(session: Session, table: Any, keys: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Add `values` to the columns of the row at `keys` (made if missing), at the end of the transaction:
    deltas to the same row are summed in `session.info`, and all of them are written just before the
    commit, in key order, one statement per row (see `write_pending`). So a submit of nine items moves
    each counter once, and on PostgreSQL the hot counter rows are locked only for the commit itself."""
    pending: dict[tuple[Any, ...], dict[str, Any]] = session.info.setdefault(_PENDING, {})
    key = (table.__tablename__, tuple(keys), tuple(keys.values()), tuple(values))
    row = pending.get(key)
    if row is None:
        pending[key] = {"table": table, "keys": dict(keys), "values": dict(values)}
        return
    for name, value in values.items():
        row["values"][name] += value


def write_pending(session: Session) -> None:
    """Write the summed deltas of `upsert_adding`: before every commit, and before counters are read in
    the same transaction. Each is an INSERT … ON CONFLICT DO UPDATE adding to the row (race-free on
    both databases: two transactions adding at once both count), its statement built once per shape."""
    pending: dict[tuple[Any, ...], dict[str, Any]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    dialect = session.get_bind().dialect.name
    batches: dict[Any, list[dict[str, Any]]] = {}  # one executemany per statement, rows in key order
    for key in sorted(pending, key=_sort_key):  # one order for every writer: no lock-order deadlock
        row = pending[key]
        if not any(row["values"].values()):
            continue  # the deltas cancelled out
        statement = _upsert_statement(dialect, row["table"], tuple(row["keys"]), tuple(row["values"]))
        batches.setdefault(statement, []).append({**row["keys"], **row["values"]})
    connection = session.connection()  # Core statements on tables: no ORM execution around them
    for statement, rows in batches.items():
        connection.execute(statement, rows)


def _sort_key(key: tuple[Any, ...]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    table, names, values, _ = key
    return table, names, tuple(str(value) for value in values)


@lru_cache(maxsize=64)
def _upsert_statement(dialect: str, table: Any, keys: tuple[str, ...], values: tuple[str, ...]) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = table.__table__.c
    statement = insert(table.__table__).values({name: bindparam(name) for name in (*keys, *values)})
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: columns[name] + statement.excluded[name] for name in values},
    )


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, _previous_transaction: object) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


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
    write_pending(session)
    rows = session.execute(select(ItemCount.name, ItemCount.value).where(ItemCount.project_id == project_id))
    return {name: int(value) for name, value in rows}


def read_counts_of(session: Session, project_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """`read_counts` for several projects in one query (a projects list shows each one's progress)."""
    write_pending(session)
    counts: dict[int, dict[str, int]] = {project_id: {} for project_id in project_ids}
    rows = session.execute(
        select(ItemCount.project_id, ItemCount.name, ItemCount.value).where(
            ItemCount.project_id.in_(project_ids)
        )
    )
    for project_id, name, value in rows:
        counts[project_id][name] = int(value)
    return counts


def recount_items(session: Session, project_id: int) -> dict[str, int]:
    """Count the project's items per state (and claimed, waiting) from the rows, and store the counts:
    after a load, and as the check that the maintained counters are right."""
    write_pending(session)
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
