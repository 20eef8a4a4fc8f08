"""For the labeling state machine (tests/queue/test_state_machine.py): a small project with its labelers
and reviewer, made through the services; a snapshot of every row the labeling workflow writes for one
project, read in one transaction; and the invariants any snapshot must satisfy, checked from the rows
themselves (never from the counters they are meant to equal)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.accounts.models import ProjectRole, User, WorkspaceRole
from tessera.db.session import Database
from tessera.items.counts import CLAIMED, WAITING, add_counts, read_counts
from tessera.items.models import Item, ItemOrder, ItemState
from tessera.labels.models import Annotation, AnnotationStatus, LabelEvent
from tessera.labels.validation import label_classes
from tessera.projects.models import Project, ProjectStatus, TaskType
from tessera.queue.models import ItemOutcome, LabelingSettings, Task, TaskItem, TaskKind, TaskStatus
from tessera.queue.settings import SettingsChange, update_labeling_settings
from tessera.review.models import ClassCount, ItemLabel, ItemLabelClass, LabelerCount, LabelSource, RateCount
from tests.support.factories import make_project, make_user

CLASS_NAMES = ("cat", "dog", "bird")


@dataclass(frozen=True)
class Crew:
    """The people, made once per test and shared by every project the test makes."""

    owner_id: int
    labeler_ids: tuple[int, ...]
    reviewer_id: int
    manager_id: int


def make_crew(db: Database, labelers: int = 3) -> Crew:
    with db.write() as session:
        owner = make_user(session, role=WorkspaceRole.creator)
        crew = [make_user(session) for _ in range(labelers)]
        reviewer, manager = make_user(session), make_user(session)
        return Crew(owner.id, tuple(user.id for user in crew), reviewer.id, manager.id)


@dataclass(frozen=True)
class Board:
    """One run's project: its items (in creation order), its people and its labeling settings."""

    project_id: int
    item_ids: tuple[int, ...]
    crew: Crew
    class_ids: dict[str, int]  # name -> LabelClass.id
    page_size: int
    min_labelers: int
    max_labelers: int

    @property
    def labeler_ids(self) -> tuple[int, ...]:
        return self.crew.labeler_ids


def make_board(
    db: Database,
    crew: Crew,
    *,
    ranks: Sequence[int],
    prelabeled: Sequence[bool],
    clusters: Sequence[int | None],
    assigned: Sequence[int | None],
    page_size: int,
    min_labelers: int,
    max_labelers: int,
) -> Board:
    """A running multiclass project with one item per rank (flags per item: pre-labeled, cluster id, the
    labeler it is assigned to), every item unlabeled in the queue, and the labeling settings given."""
    with db.write() as session:
        owner = session.get_one(User, crew.owner_id)
        members = {session.get_one(User, user_id): ProjectRole.labeler for user_id in crew.labeler_ids}
        members[session.get_one(User, crew.reviewer_id)] = ProjectRole.reviewer
        members[session.get_one(User, crew.manager_id)] = ProjectRole.manager
        project = make_project(
            session,
            owner,
            task_type=TaskType.image_classification_multiclass,
            labels=CLASS_NAMES,
            members=members,
        )
        rows = [
            Item(
                project_id=project.id, path=f"item{index:04d}.jpg", rank=rank, width=64, height=48,
                prelabeled=prelabeled[index], cluster_id=clusters[index], assigned_user_id=assigned[index],
            )
            for index, rank in enumerate(ranks)
        ]  # fmt: skip
        session.add_all(rows)
        session.flush()
        session.add_all(ItemOrder(project_id=project.id, rank=row.rank, item_id=row.id) for row in rows)
        add_counts(session, project.id, {ItemState.unlabeled.value: len(rows)})
        update_labeling_settings(
            session,
            project,
            SettingsChange(page_size=page_size, min_labelers=min_labelers, max_labelers=max_labelers),
        )
        return Board(
            project_id=project.id,
            item_ids=tuple(row.id for row in rows),
            crew=crew,
            class_ids={label_class.name: label_class.id for label_class in project.label_classes},
            page_size=page_size,
            min_labelers=min_labelers,
            max_labelers=max_labelers,
        )


# --- snapshots ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    state: ItemState
    label_count: int
    claim_count: int
    labels_needed: int
    version: int
    rank: int
    assigned_user_id: int | None
    cluster_id: int | None
    prelabeled: bool


@dataclass(frozen=True)
class TaskRow:
    user_id: int
    kind: TaskKind
    status: TaskStatus
    lease_until: datetime


@dataclass(frozen=True)
class AnnotationRow:
    item_id: int
    user_id: int
    task_id: int | None
    status: AnnotationStatus
    payload: dict[str, Any]
    idempotency_key: str | None


@dataclass(frozen=True)
class LabelRow:
    payload: dict[str, Any]
    source: LabelSource
    decided_by_id: int | None


@dataclass(frozen=True)
class Snapshot:
    """Every row of one project that labeling writes, as plain values (equal snapshots: nothing was
    written)."""

    status: ProjectStatus
    settings: tuple[int, int, int, int]  # page size, lease seconds, min and max labelers
    items: dict[int, ItemRow]
    tasks: dict[int, TaskRow]
    task_items: dict[tuple[int, int], tuple[int, ItemOutcome]]  # (task, item) -> (position, outcome)
    annotations: dict[int, AnnotationRow]
    labels: dict[int, LabelRow]  # item -> its label that counts
    order: tuple[tuple[int, int], ...]  # (rank, item id), sorted
    counts: dict[str, int]  # read_counts
    class_counts: dict[int, int]
    label_classes: frozenset[tuple[int, int]]  # (item id, class id)
    labeler_counts: dict[int, tuple[int, float]]  # user -> (items, seconds)
    rate_labels: int
    events: tuple[tuple[int, int | None, str], ...]  # (item, user, action) in order

    # Derived views -------------------------------------------------------------------------------------

    def open_tasks(self, user_id: int | None = None) -> dict[int, TaskRow]:
        return {
            task_id: task
            for task_id, task in self.tasks.items()
            if task.status == TaskStatus.open and (user_id is None or task.user_id == user_id)
        }

    def items_of(self, task_id: int, outcome: ItemOutcome | None = None) -> list[int]:
        """The task's items in position order (of one outcome, if given)."""
        rows = sorted(
            (position, item_id)
            for (owner, item_id), (position, state) in self.task_items.items()
            if owner == task_id and (outcome is None or state == outcome)
        )
        return [item_id for _, item_id in rows]

    def holders(self, item_id: int) -> list[int]:
        """The open tasks whose pending task items hold the item."""
        return [
            task_id
            for (task_id, held), (_, outcome) in self.task_items.items()
            if held == item_id and outcome == ItemOutcome.pending and self.tasks[task_id].status == "open"
        ]

    def active(self, item_id: int) -> dict[int, AnnotationRow]:
        return {
            annotation_id: row
            for annotation_id, row in self.annotations.items()
            if row.item_id == item_id and row.status == AnnotationStatus.active
        }

    def needed(self, item_id: int) -> int:
        return max(self.items[item_id].labels_needed, self.settings[2])

    def claimable_for(self, user_id: int) -> list[int]:
        """Items the queue may still hand to this labeler, by the documented rule (not the service's
        query): unlabeled, fewer labels plus claims than it needs, not assigned to someone else, not in
        the labeler's open task, no active label of theirs. In the project's order."""
        mine = {item for task_id in self.open_tasks(user_id) for item in self.items_of(task_id)}
        labeled = {row.item_id for row in self.annotations.values() if row.user_id == user_id}
        labeled = {item for item in labeled if any(a.user_id == user_id for a in self.active(item).values())}
        found = [
            item_id
            for item_id, item in self.items.items()
            if item.state == ItemState.unlabeled
            and item.label_count + item.claim_count < self.needed(item_id)
            and item.assigned_user_id in (None, user_id)
            and item_id not in mine
            and item_id not in labeled
        ]
        return sorted(found, key=lambda item_id: (self.items[item_id].rank, item_id))

    def difference(self, other: Snapshot) -> list[str]:
        """What differs between two snapshots, field by field (for messages)."""
        changed = []
        for field in fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if mine == theirs:
                continue
            if isinstance(mine, dict):
                keys = sorted(set(mine) | set(theirs), key=repr)
                detail = {
                    key: (mine.get(key), theirs.get(key)) for key in keys if mine.get(key) != theirs.get(key)
                }
                changed.append(f"{field.name}: {detail}")
            else:
                changed.append(f"{field.name}: {mine!r} -> {theirs!r}")
        return changed


def read_snapshot(session: Session, project_id: int) -> Snapshot:
    project = session.get_one(Project, project_id)
    settings = session.get_one(LabelingSettings, project_id)
    items = {
        row.id: ItemRow(
            ItemState(row.state), row.label_count, row.claim_count, row.labels_needed, row.version, row.rank,
            row.assigned_user_id, row.cluster_id, bool(row.prelabeled),
        )
        for row in session.execute(
            select(
                Item.id, Item.state, Item.label_count, Item.claim_count, Item.labels_needed, Item.version,
                Item.rank, Item.assigned_user_id, Item.cluster_id, Item.prelabeled,
            ).where(Item.project_id == project_id)
        )
    }  # fmt: skip
    tasks = {
        row.id: TaskRow(row.user_id, TaskKind(row.kind), TaskStatus(row.status), row.lease_until)
        for row in session.execute(
            select(Task.id, Task.user_id, Task.kind, Task.status, Task.lease_until).where(
                Task.project_id == project_id
            )
        )
    }
    task_items = {
        (row.task_id, row.item_id): (row.position, ItemOutcome(row.outcome))
        for row in session.execute(
            select(TaskItem.task_id, TaskItem.item_id, TaskItem.position, TaskItem.outcome)
            .join(Task, Task.id == TaskItem.task_id)
            .where(Task.project_id == project_id)
        )
    }
    annotations = {
        row.id: AnnotationRow(
            row.item_id, row.user_id, row.task_id, AnnotationStatus(row.status), dict(row.payload),
            row.idempotency_key,
        )
        for row in session.execute(
            select(
                Annotation.id, Annotation.item_id, Annotation.user_id, Annotation.task_id, Annotation.status,
                Annotation.payload, Annotation.idempotency_key,
            ).where(Annotation.project_id == project_id)
        )
    }  # fmt: skip
    labels = {
        row.item_id: LabelRow(dict(row.payload), LabelSource(row.source), row.decided_by_id)
        for row in session.execute(
            select(ItemLabel.item_id, ItemLabel.payload, ItemLabel.source, ItemLabel.decided_by_id).where(
                ItemLabel.project_id == project_id
            )
        )
    }
    order = tuple(
        (int(rank), int(item_id))
        for rank, item_id in session.execute(
            select(ItemOrder.rank, ItemOrder.item_id)
            .where(ItemOrder.project_id == project_id)
            .order_by(ItemOrder.rank, ItemOrder.item_id)
        )
    )
    class_counts = {
        int(class_id): int(number)
        for class_id, number in session.execute(
            select(ClassCount.class_id, ClassCount.items).where(ClassCount.project_id == project_id)
        )
    }
    classes = frozenset(
        (int(item_id), int(class_id))
        for item_id, class_id in session.execute(
            select(ItemLabelClass.item_id, ItemLabelClass.class_id).where(
                ItemLabelClass.project_id == project_id
            )
        )
    )
    labelers = {
        int(user_id): (int(number), float(seconds))
        for user_id, number, seconds in session.execute(
            select(LabelerCount.user_id, LabelerCount.items, LabelerCount.seconds).where(
                LabelerCount.project_id == project_id
            )
        )
    }
    rate = session.scalar(select(func.sum(RateCount.labels)).where(RateCount.project_id == project_id))
    events = tuple(
        (int(item_id), user_id, action)
        for item_id, user_id, action in session.execute(
            select(LabelEvent.item_id, LabelEvent.user_id, LabelEvent.action)
            .where(LabelEvent.project_id == project_id)
            .order_by(LabelEvent.id)
        )
    )
    return Snapshot(
        status=ProjectStatus(project.status),
        settings=(settings.page_size, settings.lease_seconds, settings.min_labelers, settings.max_labelers),
        items=items,
        tasks=tasks,
        task_items=task_items,
        annotations=annotations,
        labels=labels,
        order=order,
        counts=read_counts(session, project_id),
        class_counts=class_counts,
        label_classes=classes,
        labeler_counts=labelers,
        rate_labels=int(rate or 0),
        events=events,
    )


# --- invariants -----------------------------------------------------------------------------------------


def recount(snapshot: Snapshot) -> dict[str, int]:
    """What `recount_items` counts, from the item rows: items per state, claimed and waiting."""
    counts = {state.value: 0 for state in ItemState}
    counts.update(Counter(item.state.value for item in snapshot.items.values()))
    unlabeled = [item for item in snapshot.items.values() if item.state == ItemState.unlabeled]
    counts[CLAIMED] = sum(1 for item in unlabeled if item.claim_count > 0)
    counts[WAITING] = sum(1 for item in unlabeled if item.label_count > 0 and item.claim_count == 0)
    return counts


def check_invariants(snapshot: Snapshot, board: Board) -> None:
    """Every invariant of the labeling workflow that one snapshot can show; AssertionError naming the
    first one broken."""
    page_size, _, _, _ = snapshot.settings
    open_tasks = snapshot.open_tasks()

    # Tasks: one open task per labeler; an open task still has pending items, a submitted one none; pages
    # no larger than the page size, of the kind the task says, never with someone else's assigned items.
    per_labeler = Counter(task.user_id for task in open_tasks.values())
    assert all(number == 1 for number in per_labeler.values()), (
        f"two open tasks of one labeler: {per_labeler}"
    )
    for task_id, task in snapshot.tasks.items():
        item_ids = snapshot.items_of(task_id)
        pending = snapshot.items_of(task_id, ItemOutcome.pending)
        assert 1 <= len(item_ids) <= page_size, f"task {task_id} holds {len(item_ids)} items"
        if task.status == TaskStatus.open:
            assert pending, f"open task {task_id} has no pending item"
        if task.status == TaskStatus.submitted:
            assert not pending, f"submitted task {task_id} still has pending items {pending}"
        if task.kind == TaskKind.prelabeled:
            assert all(snapshot.items[i].prelabeled for i in item_ids), f"prelabeled task {task_id}"
        if task.kind == TaskKind.clustered:
            clusters = {snapshot.items[i].cluster_id for i in item_ids}
            assert len(clusters) == 1 and None not in clusters, f"clustered task {task_id}: {clusters}"
        for item_id in item_ids:
            assigned = snapshot.items[item_id].assigned_user_id
            assert assigned in (None, task.user_id), f"item {item_id} (assigned to {assigned}) in {task}"

    for item_id, item in snapshot.items.items():
        holders = snapshot.holders(item_id)
        active = snapshot.active(item_id)
        where = f"item {item_id} {item}"
        # Each item in exactly one state.
        assert isinstance(item.state, ItemState), where
        # claim_count: the open tasks holding it; label_count: its active labels.
        assert item.claim_count == len(holders), f"{where}: held by open tasks {holders}"
        assert item.label_count == len(active), f"{where}: active labels {sorted(active)}"
        # No item held beyond consensus.
        if item.state == ItemState.unlabeled:
            assert item.label_count + item.claim_count <= snapshot.needed(item_id), f"{where}: held too often"
        # One active label per labeler; a labeler never holds an item they have an active label on.
        labelers = Counter(row.user_id for row in active.values())
        assert all(number == 1 for number in labelers.values()), f"{where}: two active labels of one labeler"
        for task_id in holders:
            assert snapshot.tasks[task_id].user_id not in labelers, (
                f"{where}: in open task {task_id} of a labeler who has labeled it"
            )
        # The label that counts: exactly for labeled items; its classes indexed.
        label = snapshot.labels.get(item_id)
        if item.state == ItemState.labeled:
            assert label is not None, f"{where}: labeled without a label that counts"
        else:
            assert label is None, f"{where}: has a label that counts {label}"
        indexed = {class_id for indexed_item, class_id in snapshot.label_classes if indexed_item == item_id}
        expected = set(label_classes(label.payload)) if label is not None else set()
        assert indexed == expected, f"{where}: item_label_classes {indexed}, label classes {expected}"

    # The order table holds exactly the unlabeled items, each once, at its rank.
    unlabeled = sorted(
        (item.rank, item_id) for item_id, item in snapshot.items.items() if item.state == "unlabeled"
    )
    assert list(snapshot.order) == unlabeled, f"item_order {snapshot.order} != unlabeled items {unlabeled}"

    # Counters equal a recount.
    counted = recount(snapshot)
    kept = {name: snapshot.counts.get(name, 0) for name in counted}
    assert kept == counted, f"item_counts {kept} != recount {counted}"
    stray = {name: value for name, value in snapshot.counts.items() if name not in counted and value}
    assert not stray, f"unknown item counters {stray}"
    classes = Counter(
        class_id for label in snapshot.labels.values() for class_id in label_classes(label.payload)
    )
    kept_classes = {class_id: number for class_id, number in snapshot.class_counts.items() if number}
    assert kept_classes == dict(classes), f"class_counts {kept_classes} != labels' classes {dict(classes)}"
    submitted = Counter(row.user_id for row in snapshot.annotations.values())
    kept_labelers = {user_id: number for user_id, (number, _) in snapshot.labeler_counts.items() if number}
    assert kept_labelers == dict(submitted), (
        f"labeler_counts {kept_labelers} != labels given {dict(submitted)}"
    )
    assert snapshot.rate_labels == len(snapshot.annotations), "rate_counts != labels given"
    assert sum(snapshot.counts.get(state.value, 0) for state in ItemState) == len(board.item_ids)


def check_transition(before: Snapshot, after: Snapshot, *, reviewed: int | None) -> None:
    """What must hold between consecutive snapshots: versions never go back and every change to an item
    bumps its version (reviewers' decisions are checked against it); a removed item stays removed; a
    skipped item leaves `skipped` only by a reviewer's decision on it (`reviewed`)."""
    for item_id, old in before.items.items():
        new = after.items[item_id]
        assert new.version >= old.version, f"item {item_id}: version went back {old.version} -> {new.version}"
        seen_before = (
            old.state,
            old.label_count,
            old.claim_count,
            old.labels_needed,
            before.labels.get(item_id),
        )
        seen_after = (
            new.state,
            new.label_count,
            new.claim_count,
            new.labels_needed,
            after.labels.get(item_id),
        )
        labels_before = {key: row.payload for key, row in before.active(item_id).items()}
        labels_after = {key: row.payload for key, row in after.active(item_id).items()}
        if (seen_before, labels_before) != (seen_after, labels_after):
            assert new.version > old.version, f"item {item_id} changed without a new version: {old} -> {new}"
        if old.state == ItemState.removed:
            assert new.state == ItemState.removed, f"removed item {item_id} came back as {new.state}"
        if old.state == ItemState.skipped and new.state != ItemState.skipped:
            assert reviewed == item_id, f"skipped item {item_id} became {new.state} without a review"
