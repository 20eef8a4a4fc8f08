"""Handing out work: a labeler claims the next page of items under a lease; leases run out and give their
items back; a labeler gives a task back. No item is ever held by more labelers than it still needs labels,
under any concurrency: on SQLite every claim runs in one `BEGIN IMMEDIATE` transaction (claims are
serialized), on PostgreSQL the candidate rows are taken `FOR UPDATE SKIP LOCKED` (two claims never wait on
or take the same rows) and the claiming UPDATE checks the condition again.

The strategies, in the order a labeler who names none gets them: prelabeled (items the model pre-labeled,
to confirm or correct), clustered (a page of items that share a cluster id, so similar items are labeled
together), manual (the project's shuffled order). Items assigned to the labeler come before the rest;
items assigned to someone else never come.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Forbidden, NotFound
from tessera.items.counts import CLAIMED, WAITING, add_counts
from tessera.items.models import PRELABELED, Item, ItemHealth, ItemOrder, ItemState
from tessera.projects.models import Project, ProjectStatus
from tessera.queue.models import ItemOutcome, Task, TaskItem, TaskKind, TaskStatus
from tessera.queue.settings import labeling_settings

EXPIRE_BATCH = 200

# The statements every claim and submit run, built once and run with parameters: building a statement
# anew (its comparisons, its cache key) cost as much as running it.
_HELD = select(Task).where(
    Task.project_id == bindparam("project_id"),
    Task.user_id == bindparam("user_id"),
    Task.status == TaskStatus.open,
)
_EXPIRED = (
    select(Task)
    .where(Task.status == TaskStatus.open, Task.lease_until <= bindparam("now"))
    .limit(EXPIRE_BATCH)
)
# A claim's first question, in one statement: the project's open tasks whose lease ran out (to expire)
# and the labeler's own (held, unless it ran out too).
_EXPIRED_OR_HELD = (
    select(Task)
    .where(
        Task.project_id == bindparam("project_id"),
        Task.status == TaskStatus.open,
        or_(Task.lease_until <= bindparam("now"), Task.user_id == bindparam("user_id")),
    )
    .limit(EXPIRE_BATCH)
)
_TASK_ITEMS = (
    select(
        TaskItem.outcome, Item.id, Item.path, Item.row_index, Item.text, Item.width, Item.height,
        Item.health,
    )
    .join(Item, Item.id == TaskItem.item_id)
    .where(TaskItem.task_id == bindparam("task_id"))
    .order_by(TaskItem.position)
)  # fmt: skip


def ensure_labeling_open(project: Project) -> None:
    if project.status == ProjectStatus.paused:
        raise Conflict("project is paused", details={"status": project.status.value})
    if project.status != ProjectStatus.running:
        raise Conflict(f"project is {project.status.value}; labeling starts when it is running")


def claim_task(
    session: Session, *, project: Project, user_id: int, kind: TaskKind | None = None
) -> Task | None:
    """The labeler's open task (its lease renewed), or a new one with the next page of items; None when
    no item is left for this labeler."""
    ensure_labeling_open(project)
    held = _expire_and_find_held(session, project.id, user_id)
    settings = labeling_settings(session, project)
    lease = clock.now() + timedelta(seconds=settings.lease_seconds)
    if held is not None:
        held.lease_until = lease
        return held
    waiting = waiting_kinds(session, project.id, user_id)
    for strategy in (kind,) if kind else (TaskKind.prelabeled, TaskKind.clustered, TaskKind.manual):
        item_ids = _claim_items(
            session, project.id, user_id, strategy, settings.page_size, settings.min_labelers, waiting
        )
        if item_ids:
            task = Task(project_id=project.id, user_id=user_id, kind=strategy, lease_until=lease)
            session.add(task)
            session.flush()
            session.execute(  # one executemany, without an ORM object per item
                insert(TaskItem),
                [
                    {"task_id": task.id, "item_id": item_id, "position": position}
                    for position, item_id in enumerate(item_ids)
                ],
            )
            return task
    return None


def _expire_and_find_held(session: Session, project_id: int, user_id: int) -> Task | None:
    """Expire the project's tasks whose lease ran out (a batch of them); the labeler's open task, if any."""
    now = clock.now()
    found = session.scalars(
        _EXPIRED_OR_HELD, {"project_id": project_id, "user_id": user_id, "now": now}
    ).all()
    held = None
    for task in found:
        if task.lease_until <= now:
            expire_task(session, task)
        elif held is None:
            held = task
    if held is None and len(found) == EXPIRE_BATCH:  # a full batch of expired tasks may have left it out
        held = session.scalar(_HELD, {"project_id": project_id, "user_id": user_id})
    return held


@dataclass(frozen=True)
class Waiting:
    """Which kinds of unlabeled items the project has at all, and whether any is assigned to the labeler:
    each a partial-index probe, asked together once per claim (the strategies that find none are not
    tried with the ordered scan)."""

    prelabeled: bool
    clustered: bool
    assigned: bool


def _probe(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    waiting = (Item.project_id == bindparam("project_id"), Item.state == ItemState.unlabeled)
    return exists(select(Item.id).where(*waiting, *conditions))


# Built once, run with the project's and the labeler's ids: one statement, compiled once.
_WAITING = select(
    _probe(PRELABELED),
    _probe(Item.cluster_id.is_not(None)),
    _probe(Item.assigned_user_id == bindparam("user_id")),
)


def waiting_kinds(session: Session, project_id: int, user_id: int) -> Waiting:
    prelabeled, clustered, assigned = session.execute(
        _WAITING, {"project_id": project_id, "user_id": user_id}
    ).one()
    return Waiting(bool(prelabeled), bool(clustered), bool(assigned))


def _claimable() -> tuple[ColumnElement[bool], ...]:
    """Unlabeled, still needing a labeler, not held or labeled by this labeler — with the project, the
    labeler and the project's minimum of labelers as parameters. (The first three are checked again by
    the claiming UPDATE.)"""
    minimum = bindparam("min_labelers", type_=Integer)
    needed = case((Item.labels_needed > minimum, Item.labels_needed), else_=minimum)
    # Held by this labeler now, or labeled by them (a submitted task item: a review that rejects the
    # item's labels marks those rejected, and everyone may label it again).
    had_by_user = exists().where(
        TaskItem.item_id == Item.id,
        TaskItem.task_id == Task.id,
        Task.user_id == bindparam("user_id"),
        or_(
            Task.status == TaskStatus.open,
            TaskItem.outcome == ItemOutcome.submitted,
        ),
    )
    return (
        Item.project_id == bindparam("project_id"),
        Item.state == ItemState.unlabeled,
        Item.label_count + Item.claim_count < needed,
        ~had_by_user,
    )


# A claim's statements are built once per shape and run with parameters: building them anew, and their
# cache keys, cost as much as running them.
_CLAIMABLE = _claimable()
_NARROWER: dict[str, ColumnElement[bool]] = {
    "prelabeled": PRELABELED,
    "clustered": Item.cluster_id.is_not(None),
    "in_cluster": Item.cluster_id == bindparam("cluster_id"),
}
_CLAIM = (
    update(Item)
    .where(Item.id.in_(bindparam("ids", expanding=True)), *_CLAIMABLE[1:3])
    .values(claim_count=Item.claim_count + 1, version=Item.version + 1)
    .returning(Item.id, Item.claim_count, Item.label_count)
    # No Item of the claim is loaded in the session: matching the criteria against every object in it
    # first ("auto", the default) was a twelfth of a claim's time.
    .execution_options(synchronize_session=False)
)
_CLUSTER_OF = select(Item.cluster_id).where(Item.id == bindparam("id"))


@lru_cache(maxsize=64)
def _candidate_query(narrower: tuple[str, ...], assigned_to_me: bool, dialect: str) -> Select[int]:
    assigned = (
        Item.assigned_user_id == bindparam("user_id") if assigned_to_me else Item.assigned_user_id.is_(None)
    )
    query = (
        select(Item.id)
        .join(ItemOrder, and_(ItemOrder.item_id == Item.id, ItemOrder.project_id == bindparam("project_id")))
        .where(*_CLAIMABLE, *(_NARROWER[name] for name in narrower), assigned)
        .order_by(ItemOrder.rank, ItemOrder.item_id)
        .limit(bindparam("limit", type_=Integer))
    )
    if dialect == "postgresql":
        query = query.with_for_update(of=Item, skip_locked=True)
    return query


def claim_parameters(project_id: int, user_id: int, min_labelers: int) -> dict[str, Any]:
    return {"project_id": project_id, "user_id": user_id, "min_labelers": min_labelers}


def _claim_items(
    session: Session,
    project_id: int,
    user_id: int,
    kind: TaskKind,
    page_size: int,
    min_labelers: int,
    waiting: Waiting,
) -> list[int]:
    given = claim_parameters(project_id, user_id, min_labelers)
    narrower: tuple[str, ...] = ()
    if kind == TaskKind.prelabeled:
        if not waiting.prelabeled:
            return []
        narrower = ("prelabeled",)
    elif kind == TaskKind.clustered:
        if not waiting.clustered:
            return []
        first = _candidates(session, given, ("clustered",), 1, waiting.assigned)
        if not first:
            return []
        given["cluster_id"] = session.scalar(_CLUSTER_OF, {"id": first[0]})
        narrower = ("in_cluster",)
    item_ids = _candidates(session, given, narrower, page_size, waiting.assigned)
    if not item_ids:
        return []
    # Only the parameters its WHERE uses: an UPDATE takes any other key named like a column as a SET
    # value, and `project_id` did (SET project_id = the same value, rewriting every index on it).
    claimed = session.execute(_CLAIM, {"ids": item_ids, "min_labelers": min_labelers}).all()
    newly = [labels for _, claims, labels in claimed if claims == 1]  # were in no task until now
    add_counts(session, project_id, {CLAIMED: len(newly), WAITING: -sum(1 for labels in newly if labels > 0)})
    taken = {item_id for item_id, _, _ in claimed}
    return [item_id for item_id in item_ids if item_id in taken]


def _candidates(
    session: Session, given: dict[str, Any], narrower: tuple[str, ...], limit: int, assigned_first: bool
) -> list[int]:
    """Ids in the project's order: first those assigned to the labeler (when any is), then unassigned
    ones. `given`: `claim_parameters` (and the cluster id when narrowed to one)."""
    dialect = session.get_bind().dialect.name
    found: list[int] = []
    for assigned_to_me in (True, False) if assigned_first else (False,):
        query = _candidate_query(narrower, assigned_to_me, dialect)
        found += session.scalars(query, {**given, "limit": limit - len(found)}).all()
        if len(found) >= limit:
            break
    return found


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


def task_items(
    session: Session, task: Task
) -> Sequence[Row[ItemOutcome, int, str, int, str | None, int | None, int | None, ItemHealth]]:
    """The task's items in page order, as rows of the columns a task shows (outcome, id, path, row_index,
    text, width, height, health), not as ORM objects: this answers every claim and submit."""
    return session.execute(_TASK_ITEMS, {"task_id": task.id}).all()


def open_task_of(session: Session, task: Task, user_id: int) -> Task:
    """The task, if it is this labeler's and still leased (renewed by this activity); else 403/409."""
    if task.user_id != user_id:
        raise Forbidden(f"task {task.id} is another labeler's")
    if task.status == TaskStatus.open and task.lease_until <= clock.now():
        expire_task(session, task)
    if task.status == TaskStatus.expired:
        raise Conflict("lease expired", details={"task_id": task.id})
    if task.status != TaskStatus.open:
        raise Conflict(f"task {task.id} is {task.status.value}", details={"task_id": task.id})
    return task


def renew_lease(session: Session, task: Task) -> Task:
    settings = labeling_settings(session, session.get_one(Project, task.project_id))
    task.lease_until = clock.now() + timedelta(seconds=settings.lease_seconds)
    session.flush()
    return task


def release_items(session: Session, project_id: int, item_ids: Sequence[int]) -> None:
    """Give back the claims of a task's pending items (they return to the queue)."""
    if not item_ids:
        return
    released = session.execute(
        update(Item)
        .where(Item.id.in_(item_ids), Item.claim_count > 0)
        .values(claim_count=Item.claim_count - 1, version=Item.version + 1)
        .returning(Item.claim_count, Item.state, Item.label_count)
    ).all()
    freed = [labels for claims, state, labels in released if claims == 0 and state == ItemState.unlabeled]
    add_counts(session, project_id, {CLAIMED: -len(freed), WAITING: sum(1 for labels in freed if labels > 0)})


def close_task(
    session: Session, task: Task, status: TaskStatus, *, pending: Sequence[int] | None = None
) -> None:
    """End the task; its pending items (`pending` when the caller knows them) go back to the queue."""
    if pending is None:
        pending = session.scalars(
            select(TaskItem.item_id).where(
                TaskItem.task_id == task.id, TaskItem.outcome == ItemOutcome.pending
            )
        ).all()
    release_items(session, task.project_id, pending)
    task.status, task.closed_at = status, clock.now()
    session.flush()


def expire_task(session: Session, task: Task) -> None:
    """Its lease ran out: the items it had not finished go back to the queue."""
    if task.status == TaskStatus.open:
        close_task(session, task, TaskStatus.expired)


def expire_leases(session: Session) -> list[int]:
    """Expire the open tasks whose lease ran out, of every project (a batch of them): by the scheduler.
    A claim expires its own project's with `_expire_and_find_held`."""
    tasks = session.scalars(_EXPIRED, {"now": clock.now()}).all()
    for task in tasks:
        expire_task(session, task)
    return [task.id for task in tasks]
