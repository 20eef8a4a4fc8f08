"""The labeling workflow as a hypothesis state machine: three labelers and a reviewer drive random sequences
of claim / submit / skip / release / expire / change_label / reject / accept_skip / set_label / pause /
resume through the services, one write transaction per step (as a request would), on SQLite and on
PostgreSQL. After every step the invariants are checked from the rows (tests/support/state_machine.py): no
item held by more labelers than it still needs, claim and label counts equal to the tasks and labels that
make them, every item in one state, the order table holding exactly the unlabeled items, the label that
counts present exactly for labeled items, and every counter equal to a recount. A step whose service
refuses (Conflict, Invalid, Forbidden) must leave every row as it was; each step predicts whether it is
refused, and with what."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import update
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Forbidden, Invalid, TesseraError
from tessera.db.session import Database
from tessera.items.models import Item, ItemState
from tessera.labels.models import Annotation, AnnotationStatus
from tessera.projects.models import Project, ProjectStatus
from tessera.projects.service import set_project_status
from tessera.queue.models import ItemOutcome, Task, TaskKind, TaskStatus
from tessera.queue.service import claim_task, expire_leases
from tessera.review.decisions import REVIEWABLE, accept_skip, reject_item, set_item_label
from tessera.review.models import LabelSource
from tessera.review.workflow import Submission, change_label, release_task, skip_item, submit_labels
from tests.support.state_machine import (
    CLASS_NAMES,
    Board,
    Crew,
    LabelRow,
    Snapshot,
    check_invariants,
    check_transition,
    make_board,
    make_crew,
    read_snapshot,
)

T = TypeVar("T")

RUNS = settings(
    max_examples=int(os.environ.get("TESSERA_STATE_MACHINE_EXAMPLES", "30")),
    stateful_step_count=25,
    deadline=None,
    database=None,  # no example database: nothing is replayed from disk
    derandomize=True,  # the same sequences on every run: CI never fails by chance on the pinned bugs
    suppress_health_check=[HealthCheck.too_slow],
)

LABELERS = st.integers(min_value=0, max_value=2)
CLASSES = st.sampled_from(CLASS_NAMES)
KINDS = st.sampled_from([None, None, TaskKind.manual, TaskKind.prelabeled, TaskKind.clustered])
LONG_AGO = timedelta(hours=1)  # leases put this far into the past: no boundary with the real clock


def one_in(data: st.DataObject, odds: int, label: str) -> bool:
    """True about once in `odds` draws (False is the simplest draw, what shrinking goes to)."""
    return data.draw(st.sampled_from([False] * (odds - 1) + [True]), label=label)


class LabelingMachine(RuleBasedStateMachine):
    """Set `database` and `crew` on a subclass (the test's `db` fixture, and people made once)."""

    database: Database
    crew: Crew

    def __init__(self) -> None:
        super().__init__()
        self.board: Board
        self.snapshot: Snapshot  # as of the last step
        self.fresh: Snapshot | None = None  # read by the step itself, after it: the invariant reuses it
        self.reviewed: int | None = None  # the item a reviewer's decision of this step was about
        self.refusal: TesseraError | None = None  # what the last refused step raised
        self.submissions: dict[int, tuple[int, list[Submission], str]] = {}  # labeler -> last keyed submit
        self.keys = 0

    # --- plumbing ---------------------------------------------------------------------------------------

    def observe(self) -> Snapshot:
        with self.database.read() as session:
            self.fresh = read_snapshot(session, self.board.project_id)
        return self.fresh

    def attempt(
        self,
        action: Callable[[Session], T],
        refused: type[TesseraError] | None,
        message: str | None = None,
    ) -> T | None:
        """Run one step in its own write transaction, as a request would. `refused`: the domain error the
        step must raise (None: it must succeed), `message` what it must say. A refused step must leave
        every row as it was."""
        self.refusal = None
        try:
            with self.database.write() as session:
                result = action(session)
        except TesseraError as error:
            self.refusal = error
        else:
            assert refused is None, f"expected {refused.__name__}, the step succeeded"
            self.fresh = None  # rows changed: read them again
            return result
        assert refused is not None, f"refused unexpectedly: {self.refusal!r} {self.refusal.details}"
        assert type(self.refusal) is refused, f"expected {refused.__name__}, got {self.refusal!r}"
        assert message is None or self.refusal.message == message, f"{self.refusal!r}, expected {message!r}"
        after = self.observe()
        assert after == self.snapshot, f"a refused step wrote: {self.snapshot.difference(after)}"
        return None

    def project(self, session: Session) -> Project:
        return session.get_one(Project, self.board.project_id)

    def paused(self) -> bool:
        return self.snapshot.status == ProjectStatus.paused

    def lapsed(self, task_id: int) -> bool:
        return self.snapshot.tasks[task_id].lease_until <= clock.now()

    def some_task(self, data: st.DataObject) -> int:
        """A task, most often an open one (closed ones test the refusals)."""
        open_ids = sorted(self.snapshot.open_tasks())
        if open_ids and not one_in(data, 6, "a closed task?"):
            return data.draw(st.sampled_from(open_ids), label="task")
        return data.draw(st.sampled_from(sorted(self.snapshot.tasks)), label="task")

    def actor(self, owner: int, data: st.DataObject) -> int:
        """Mostly the labeler it belongs to; sometimes another one (Forbidden)."""
        if not one_in(data, 10, "someone else?"):
            return owner
        return data.draw(st.sampled_from([i for i in self.board.labeler_ids if i != owner]), label="other")

    def refusal_of_task(self, task_id: int, who: int) -> tuple[type[TesseraError] | None, str | None]:
        """What submit and skip answer before looking at the items: the project paused, another's task,
        the task closed or its lease run out."""
        task = self.snapshot.tasks[task_id]
        if self.paused():
            return Conflict, "project is paused"
        if task.user_id != who:
            return Forbidden, None
        if task.status == TaskStatus.open and self.lapsed(task_id):
            return Conflict, "lease expired"
        if task.status != TaskStatus.open:
            return Conflict, None
        return None, None

    def label(self, name: str) -> dict[str, Any]:
        return {"classes": [name]}

    def stored(self, name: str) -> dict[str, Any]:
        return {"classes": [self.board.class_ids[name]]}

    # --- setup --------------------------------------------------------------------------------------------

    @initialize(
        items=st.integers(min_value=6, max_value=8),
        page_size=st.sampled_from([1, 4]),
        consensus=st.integers(min_value=1, max_value=2).flatmap(
            lambda low: st.tuples(st.just(low), st.integers(min_value=low, max_value=3))
        ),
        data=st.data(),
    )
    def setup(self, items: int, page_size: int, consensus: tuple[int, int], data: st.DataObject) -> None:
        """A project of 6-8 items, some pre-labeled, some in clusters, some assigned to a labeler; the page
        size and the consensus settings (min 1-2 labelers, max min-3) fixed for the run."""
        flags = st.lists(st.booleans(), min_size=items, max_size=items)
        clusters = st.lists(st.sampled_from([None, None, 1, 2]), min_size=items, max_size=items)
        assigned = st.lists(st.sampled_from([None, None, None, None, 0, 2]), min_size=items, max_size=items)
        self.board = make_board(
            self.database,
            self.crew,
            ranks=data.draw(st.permutations(range(items)), label="ranks"),
            prelabeled=data.draw(flags, label="prelabeled"),
            clusters=data.draw(clusters, label="clusters"),
            assigned=[
                None if i is None else self.crew.labeler_ids[i] for i in data.draw(assigned, label="assigned")
            ],
            page_size=page_size,
            min_labelers=consensus[0],
            max_labelers=consensus[1],
        )
        self.snapshot = self.observe()

    # --- the labelers -------------------------------------------------------------------------------------

    @rule(who=LABELERS, kind=KINDS)
    def claim(self, who: int, kind: TaskKind | None) -> None:
        user_id = self.board.labeler_ids[who]
        held = [task_id for task_id in self.snapshot.open_tasks(user_id) if not self.lapsed(task_id)]

        def action(session: Session) -> int | None:
            task = claim_task(session, project=self.project(session), user_id=user_id, kind=kind)
            return None if task is None else task.id

        refused = Conflict if self.paused() else None
        task_id = self.attempt(action, refused, "project is paused")
        if refused is not None:
            return
        after = self.observe()
        for lapsed in (i for i in self.snapshot.open_tasks() if self.lapsed(i)):  # anyone's: given back first
            assert after.tasks[lapsed].status == TaskStatus.expired, f"lapsed task {lapsed} still open"
        if held:  # the labeler's own task again, its lease renewed
            assert task_id == held[0], f"claim gave {task_id}, the labeler holds {held}"
            assert after.tasks[task_id].lease_until > self.snapshot.tasks[task_id].lease_until
            return
        left = after.claimable_for(user_id)
        of_kind = {
            None: left,
            TaskKind.manual: left,
            TaskKind.prelabeled: [i for i in left if after.items[i].prelabeled],
            TaskKind.clustered: [i for i in left if after.items[i].cluster_id is not None],
        }[kind]
        if task_id is None:
            assert not of_kind, f"claim gave nothing, {of_kind} left for the labeler"
            return
        task, page = after.tasks[task_id], after.items_of(task_id)
        assert (
            task_id not in self.snapshot.tasks and task.user_id == user_id and task.status == TaskStatus.open
        )
        assert kind is None or task.kind == kind
        for item_id in page:
            assert self.snapshot.items[item_id].state == ItemState.unlabeled, (
                f"claimed {item_id}, not unlabeled"
            )
        if task.kind == TaskKind.manual:
            # As full as the queue allows, in the project's order, the labeler's assigned items first.
            assert len(page) == self.board.page_size or not left, f"a short page {page}, {left} left"
            if any(after.items[i].assigned_user_id == user_id for i in left):
                assert all(after.items[i].assigned_user_id == user_id for i in page), f"{page} before {left}"
            for assigned in (user_id, None):
                taken = [
                    (after.items[i].rank, i) for i in page if after.items[i].assigned_user_id == assigned
                ]
                rest = [(after.items[i].rank, i) for i in left if after.items[i].assigned_user_id == assigned]
                assert not taken or not rest or max(taken) < min(rest), f"{page} out of order, {left} left"

    def workable(self) -> list[int]:
        """Open tasks with their lease, while the project runs: where a submission goes through."""
        if self.paused():
            return []
        return sorted(i for i in self.snapshot.open_tasks() if not self.lapsed(i))

    @precondition(lambda self: bool(self.workable()))
    @rule(data=st.data(), keyed=st.booleans())
    def label_items(self, data: st.DataObject, keyed: bool) -> None:
        """A labeler labels items of their open task (the common case; `submit` tries every other)."""
        task_id = data.draw(st.sampled_from(self.workable()), label="task")
        self.submit_to(task_id, self.snapshot.tasks[task_id].user_id, data, keyed)

    @precondition(lambda self: bool(self.snapshot.tasks))
    @rule(data=st.data(), keyed=st.booleans())
    def submit(self, data: st.DataObject, keyed: bool) -> None:
        """Labels for some of a task's waiting items: any task (closed, lapsed: 409), sometimes by another
        labeler (403), sometimes with an item not waiting (422)."""
        task_id = self.some_task(data)
        self.submit_to(task_id, self.actor(self.snapshot.tasks[task_id].user_id, data), data, keyed)

    def submit_to(self, task_id: int, who: int, data: st.DataObject, keyed: bool) -> None:
        pending = self.snapshot.items_of(task_id, ItemOutcome.pending)
        done = [i for i in self.snapshot.items_of(task_id) if i not in pending]
        labelable = pending
        chosen = (
            data.draw(st.lists(st.sampled_from(labelable), unique=True, min_size=1), label="items")
            if labelable
            else []
        )
        if done and (not chosen or one_in(data, 8, "a done item too?")):
            chosen.append(data.draw(st.sampled_from(done), label="done item"))
        if not chosen:
            return  # nothing to send (the API refuses an empty list of labels before any service runs)
        names = data.draw(st.lists(CLASSES, min_size=len(chosen), max_size=len(chosen)), label="classes")
        submissions = [
            Submission(item_id, self.label(name), seconds=float(index + 1))
            for index, (item_id, name) in enumerate(zip(chosen, names, strict=True))
        ]
        self.keys += 1
        key = f"key-{self.keys}" if keyed else None
        refused, message = self.refusal_of_task(task_id, who)
        if refused is None and any(i not in pending for i in chosen):
            refused = Invalid

        def action(session: Session) -> None:
            submit_labels(
                session, project=self.project(session), task=session.get_one(Task, task_id), user_id=who,
                submissions=submissions, idempotency_key=key,
            )  # fmt: skip

        self.attempt(action, refused, message)
        if refused is not None:
            return
        after = self.observe()
        for item_id, name in zip(chosen, names, strict=True):
            mine = [row.payload for row in after.active(item_id).values() if row.user_id == who]
            assert mine == [self.stored(name)], f"item {item_id}: the labeler's active labels {mine}"
            assert after.task_items[(task_id, item_id)][1] == ItemOutcome.submitted
        still = after.items_of(task_id, ItemOutcome.pending)
        assert after.tasks[task_id].status == (TaskStatus.open if still else TaskStatus.submitted)
        if still:
            assert after.tasks[task_id].lease_until > self.snapshot.tasks[task_id].lease_until  # renewed
        assert [action for _, _, action in after.events[len(self.snapshot.events) :]] == ["submit"] * len(
            chosen
        )
        if key is not None:
            self.submissions[who] = (task_id, submissions, key)

    @precondition(lambda self: bool(self.submissions))
    @rule(data=st.data())
    def retry_submission(self, data: st.DataObject) -> None:
        """A retried submission (its idempotency key again) writes nothing, whatever happened since."""
        who = data.draw(st.sampled_from(sorted(self.submissions)), label="labeler")
        task_id, submissions, key = self.submissions[who]

        def action(session: Session) -> None:
            submit_labels(
                session, project=self.project(session), task=session.get_one(Task, task_id), user_id=who,
                submissions=submissions, idempotency_key=key,
            )  # fmt: skip

        self.attempt(action, None)
        after = self.observe()
        assert after == self.snapshot, f"a retried submission wrote: {self.snapshot.difference(after)}"

    @precondition(lambda self: bool(self.snapshot.tasks))
    @rule(data=st.data())
    def skip(self, data: st.DataObject) -> None:
        task_id = self.some_task(data)
        who = self.actor(self.snapshot.tasks[task_id].user_id, data)
        pending = self.snapshot.items_of(task_id, ItemOutcome.pending)
        waiting = bool(pending) and not one_in(data, 8, "a done item?")
        item_id = data.draw(
            st.sampled_from(pending if waiting else self.snapshot.items_of(task_id)), label="item"
        )
        refused, message = self.refusal_of_task(task_id, who)
        if refused is None and item_id not in pending:
            refused = Invalid

        def action(session: Session) -> None:
            task = session.get_one(Task, task_id)
            skip_item(session, project=self.project(session), task=task, user_id=who, item_id=item_id)

        self.attempt(action, refused, message)
        if refused is not None:
            return
        after, before = self.observe(), self.snapshot.items[item_id]
        assert after.task_items[(task_id, item_id)][1] == ItemOutcome.skipped
        expected = ItemState.skipped if before.state == ItemState.unlabeled else before.state
        assert after.items[item_id].state == expected

    @precondition(lambda self: bool(self.snapshot.tasks))
    @rule(data=st.data(), by=st.sampled_from(["labeler", "labeler", "labeler", "another", "manager"]))
    def release(self, data: st.DataObject, by: str) -> None:
        """The labeler gives a task back (a manager may give back anyone's; another labeler may not)."""
        task_id = self.some_task(data)
        task = self.snapshot.tasks[task_id]
        others = [i for i in self.board.labeler_ids if i != task.user_id]
        who = {"labeler": task.user_id, "manager": self.board.crew.manager_id}.get(by) or data.draw(
            st.sampled_from(others), label="another"
        )
        refused = Forbidden if by == "another" else (Conflict if task.status != TaskStatus.open else None)

        def action(session: Session) -> None:
            task = session.get_one(Task, task_id)
            release_task(session, task=task, user_id=who, by_manager=by == "manager")

        self.attempt(action, refused)
        if refused is None:
            assert self.observe().tasks[task_id].status == TaskStatus.released

    @precondition(lambda self: bool(self.snapshot.open_tasks()))
    @rule(data=st.data(), run_expiry=st.booleans())
    def lease_runs_out(self, data: st.DataObject, run_expiry: bool) -> None:
        """A task's lease runs out, and `expire_leases` (the scheduler) gives back every lapsed one; or it
        does not run yet, and the task stays open until a claim, or its labeler's next call (409)."""
        task_id = data.draw(st.sampled_from(sorted(self.snapshot.open_tasks())), label="task")
        lapsed = {task_id} | {i for i in self.snapshot.open_tasks() if self.lapsed(i)}

        def action(session: Session) -> None:
            session.execute(update(Task).where(Task.id == task_id).values(lease_until=clock.now() - LONG_AGO))
            if run_expiry:
                expire_leases(session)

        self.attempt(action, None)
        if run_expiry:
            after = self.observe()
            for other, task in self.snapshot.tasks.items():
                expected = TaskStatus.expired if other in lapsed else task.status
                assert after.tasks[other].status == expected, f"task {other}: {after.tasks[other]}"

    @precondition(lambda self: bool(self.snapshot.annotations))
    @rule(data=st.data(), name=CLASSES)
    def change_label(self, data: st.DataObject, name: str) -> None:
        """A labeler changes one of their labels (refused once rejected, or the item reviewed)."""
        rows = self.snapshot.annotations
        active = sorted(i for i, row in rows.items() if row.status == AnnotationStatus.active)
        pool = active if active and not one_in(data, 6, "a rejected one?") else sorted(rows)
        annotation_id = data.draw(st.sampled_from(pool), label="annotation")
        row = rows[annotation_id]
        who = self.actor(row.user_id, data)
        decided = self.snapshot.labels.get(row.item_id)
        reviewed = decided is not None and decided.source == LabelSource.review
        refused: type[TesseraError] | None = None
        if who != row.user_id:
            refused = Forbidden
        elif row.status != AnnotationStatus.active or self.paused() or reviewed:
            refused = Conflict

        def action(session: Session) -> None:
            annotation = session.get_one(Annotation, annotation_id)
            change_label(
                session, project=self.project(session), annotation=annotation, user_id=who,
                label=self.label(name),
            )  # fmt: skip

        self.attempt(action, refused)
        if refused is None:
            assert self.observe().annotations[annotation_id].payload == self.stored(name)

    def set_status(self, status: ProjectStatus) -> None:
        self.attempt(lambda session: set_project_status(session, self.project(session), status), None)

    @precondition(lambda self: not self.paused())
    @rule(data=st.data(), who=LABELERS, name=CLASSES)
    def pause(self, data: st.DataObject, who: int, name: str) -> None:
        """A manager pauses the project: a claim, a submission, a skip and a label change are refused
        (409, nothing written). Mostly it resumes at once; else it stays paused for the steps that follow
        (claims and submissions refused, reviews, releases and expiries going on) until `resume`."""
        self.set_status(ProjectStatus.paused)
        self.snapshot = self.observe()  # what the refused steps must leave as it is
        self.claim(who, None)
        if self.snapshot.tasks:
            self.submit(data, keyed=False)
            self.skip(data)
        if self.snapshot.annotations:
            self.change_label(data, name)
        if not one_in(data, 8, "stay paused?"):
            self.set_status(ProjectStatus.running)

    @precondition(lambda self: self.paused())
    @rule()
    def resume(self) -> None:
        self.set_status(ProjectStatus.running)

    # --- the reviewer -------------------------------------------------------------------------------------

    @rule(data=st.data(), stale=st.integers(min_value=0, max_value=3), name=CLASSES)
    def review(self, data: st.DataObject, stale: int, name: str) -> None:
        """A reviewer's decision on an item (mostly one that fits its state), with the version they
        loaded: mostly the current one, sometimes an older one (409 with the item as it stands)."""
        decidable = sorted(i for i, item in self.snapshot.items.items() if item.state in REVIEWABLE)
        pool = decidable if decidable and not one_in(data, 5, "any item?") else sorted(self.snapshot.items)
        item_id = data.draw(st.sampled_from(pool), label="item")
        item = self.snapshot.items[item_id]
        fitting = {
            ItemState.skipped: ["reject", "accept_skip", "set_label"],
            ItemState.labeled: ["reject", "set_label"],
            ItemState.needs_review: ["reject", "set_label"],
            ItemState.unlabeled: ["set_label"],
        }.get(item.state, [])
        if not fitting or one_in(data, 6, "any action?"):
            fitting = ["reject", "accept_skip", "set_label"]
        action = data.draw(st.sampled_from(fitting), label="action")
        stale = min(stale, item.version - 1) if stale < 3 else 0  # versions start at 1
        reviewer = self.board.crew.reviewer_id
        allowed = {
            "reject": REVIEWABLE,
            "accept_skip": (ItemState.skipped,),
            "set_label": (*REVIEWABLE, ItemState.unlabeled),
        }[action]
        refused = Conflict if stale or item.state not in allowed else None

        def decide(session: Session) -> None:
            row = session.get_one(Item, item_id)
            version = item.version - stale
            if action == "reject":
                reject_item(session, item=row, version=version, reviewer_id=reviewer)
            elif action == "accept_skip":
                accept_skip(session, item=row, version=version, reviewer_id=reviewer)
            else:
                set_item_label(
                    session, project=self.project(session), item=row, version=version, reviewer_id=reviewer,
                    label=self.label(name),
                )  # fmt: skip

        self.reviewed = item_id
        self.attempt(decide, refused)
        if refused is not None:
            assert self.refusal is not None
            # The 409 carries the item as it stands, for the reviewer to look again.
            details = self.refusal.details
            assert (details["version"], details["state"]) == (item.version, item.state.value), details
            return
        after = self.observe()
        assert after.items[item_id].version > item.version
        assert after.events[-1] == (item_id, reviewer, "set" if action == "set_label" else action)
        if action == "reject":
            assert after.items[item_id].state == ItemState.unlabeled and not after.active(item_id)
            assert all(
                rows.status == AnnotationStatus.rejected
                for rows in after.annotations.values()
                if rows.item_id == item_id
            )
        elif action == "accept_skip":
            assert after.items[item_id].state == ItemState.removed
        else:
            assert after.items[item_id].state == ItemState.labeled
            assert after.labels[item_id] == LabelRow(self.stored(name), LabelSource.review, reviewer)

    # --- after every step ---------------------------------------------------------------------------------

    @invariant()
    def rows_hold_together(self) -> None:
        after = self.fresh or self.observe()
        check_invariants(after, self.board)
        check_transition(self.snapshot, after, reviewed=self.reviewed)
        self.snapshot, self.fresh, self.reviewed = after, None, None


def test_random_labeling_keeps_every_invariant(db: Database) -> None:
    class Machine(LabelingMachine):
        database = db
        crew = make_crew(db)

    run_state_machine_as_test(Machine, settings=RUNS)


# --- the bugs the state machine found, reproduced step by step (all fixed; kept as regression tests) ------------------------------------------


class Scene:
    """A few direct service calls on one small project, each in its own transaction (as a request)."""

    def __init__(self, db: Database, *, items: int = 1, min_labelers: int = 1, max_labelers: int = 1) -> None:
        self.db = db
        self.board = make_board(
            db,
            make_crew(db),
            ranks=list(range(items)),
            prelabeled=[False] * items,
            clusters=[None] * items,
            assigned=[None] * items,
            page_size=1,
            min_labelers=min_labelers,
            max_labelers=max_labelers,
        )
        self.labelers = self.board.labeler_ids

    def snapshot(self) -> Snapshot:
        with self.db.read() as session:
            return read_snapshot(session, self.board.project_id)

    def claim(self, user_id: int) -> Task | None:
        with self.db.write() as session:
            project = session.get_one(Project, self.board.project_id)
            return claim_task(session, project=project, user_id=user_id)

    def submit(self, task: Task, name: str) -> None:
        [item_id] = self.snapshot().items_of(task.id)
        with self.db.write() as session:
            project = session.get_one(Project, self.board.project_id)
            submit_labels(
                session, project=project, task=session.get_one(Task, task.id), user_id=task.user_id,
                submissions=[Submission(item_id, {"classes": [name]})],
            )  # fmt: skip

    def skip(self, task: Task) -> None:
        [item_id] = self.snapshot().items_of(task.id)
        with self.db.write() as session:
            project = session.get_one(Project, self.board.project_id)
            skip_item(
                session,
                project=project,
                task=session.get_one(Task, task.id),
                user_id=task.user_id,
                item_id=item_id,
            )

    def review(self, item_id: int, action: str, name: str = "cat") -> None:
        reviewer = self.board.crew.reviewer_id
        with self.db.write() as session:
            item = session.get_one(Item, item_id)
            if action == "reject":
                reject_item(session, item=item, version=item.version, reviewer_id=reviewer)
            elif action == "accept_skip":
                accept_skip(session, item=item, version=item.version, reviewer_id=reviewer)
            else:
                project = session.get_one(Project, self.board.project_id)
                set_item_label(
                    session, project=project, item=item, version=item.version, reviewer_id=reviewer,
                    label={"classes": [name]},
                )  # fmt: skip


def test_submitting_an_item_a_reviewer_decided_keeps_label_count(db: Database) -> None:
    scene = Scene(db)
    [item] = scene.board.item_ids
    task = scene.claim(scene.labelers[0])
    assert task is not None
    scene.review(item, "set_label", "bird")  # decided while it is still in the labeler's task
    scene.submit(task, "cat")  # accepted: the task still held the item
    after = scene.snapshot()
    assert after.items[item].label_count == len(after.active(item))


def test_another_labelers_submission_undoes_a_skip(db: Database) -> None:
    scene = Scene(db, min_labelers=2, max_labelers=2)
    [item] = scene.board.item_ids
    first, second = scene.claim(scene.labelers[0]), scene.claim(scene.labelers[1])
    assert first is not None and second is not None  # one item, two labelers
    scene.skip(first)
    assert scene.snapshot().items[item].state == ItemState.skipped
    scene.submit(second, "cat")
    assert scene.snapshot().items[item].state == ItemState.skipped  # until a reviewer decides


def test_a_submission_brings_back_an_item_whose_skip_was_accepted(db: Database) -> None:
    scene = Scene(db, min_labelers=2, max_labelers=2)
    [item] = scene.board.item_ids
    first, second = scene.claim(scene.labelers[0]), scene.claim(scene.labelers[1])
    assert first is not None and second is not None
    scene.skip(first)
    scene.review(item, "accept_skip")  # taken out of the project
    scene.submit(second, "cat")
    after = scene.snapshot()
    assert after.items[item].state == ItemState.removed
    assert after.order == ()


def test_a_labeler_whose_label_was_rejected_may_label_the_item_again(db: Database) -> None:
    scene = Scene(db, min_labelers=2, max_labelers=2)
    [item] = scene.board.item_ids
    first, second, third = scene.labelers
    for user_id in (first, second):
        task = scene.claim(user_id)
        assert task is not None
        scene.submit(task, "cat")
    assert scene.snapshot().items[item].state == ItemState.labeled
    scene.review(item, "reject")  # both labels taken back: "everyone may label it again"
    task = scene.claim(third)
    assert task is not None
    scene.submit(task, "dog")  # one of the two labels it needs
    before = scene.snapshot()
    assert before.claimable_for(first) == [item]
    assert scene.claim(first) is not None  # else nobody can ever give it its second label


def test_the_same_item_twice_in_one_submission_is_refused(db: Database) -> None:
    scene = Scene(db)
    [item] = scene.board.item_ids
    task = scene.claim(scene.labelers[0])
    assert task is not None
    twice = [Submission(item, {"classes": ["cat"]}), Submission(item, {"classes": ["dog"]})]
    with pytest.raises(Invalid), db.write() as session:
        project = session.get_one(Project, scene.board.project_id)
        submit_labels(
            session, project=project, task=session.get_one(Task, task.id), user_id=task.user_id,
            submissions=twice,
        )  # fmt: skip


def test_a_refused_review_reports_the_items_version(db: Database) -> None:
    scene = Scene(db)
    [item] = scene.board.item_ids
    current = scene.snapshot().items[item]
    assert current.state == ItemState.unlabeled
    with pytest.raises(Conflict) as refused, db.write() as session:
        row = session.get_one(Item, item)
        reject_item(session, item=row, version=current.version, reviewer_id=scene.board.crew.reviewer_id)
    assert scene.snapshot().items[item] == current  # nothing changed
    # "409 with the item's current version and state": the version the reviewer should load now.
    assert refused.value.details["version"] == current.version
