"""The `queue` benchmark's checks and references, run once the HTTP runs are over: double assignments and
counters read from the database, and the claim's SQL and whole claim + submit cycles in-process (no HTTP),
the service's own cost beside what one server process does over HTTP."""

from __future__ import annotations

import cProfile
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, text

from bench.support import migrated, percentile
from tessera.db.session import Database
from tessera.items.counts import CLAIMED, read_counts
from tessera.items.models import Item, ItemState
from tessera.labels.models import Annotation, AnnotationStatus
from tessera.projects.service import get_project
from tessera.queue.models import Task, TaskItem, TaskKind
from tessera.queue.service import _candidates, _claim_items, claim_parameters, claim_task, waiting_kinds
from tessera.review.workflow import Submission, submit_labels

CLASSES = ("cat", "dog", "bird", "car", "tree")
REFERENCE_CALLS = 300  # the claim SQL alone
REFERENCE_CYCLES = 100  # whole claim + submit in-process
PRELABELED_CHECKS = 20


def ms(samples: list[float], share: float) -> float | None:
    return round(percentile(samples, share), 2) if samples else None


def database_doubles(url: str, project_id: int) -> dict[str, list[int]]:
    """Items with more active labels, or in more tasks, or held by more tasks, than one labeler each."""
    database = Database.from_url(url)
    with database.read() as session:
        labels = session.scalars(
            select(Annotation.item_id)
            .where(Annotation.project_id == project_id, Annotation.status == AnnotationStatus.active)
            .group_by(Annotation.item_id)
            .having(func.count() > 1)
        ).all()
        tasks = session.scalars(
            select(TaskItem.item_id)
            .join(Task, Task.id == TaskItem.task_id)
            .where(Task.project_id == project_id)
            .group_by(TaskItem.item_id)
            .having(func.count() > 1)
        ).all()
        claims = session.scalars(
            select(Item.id).where(Item.project_id == project_id, Item.claim_count + Item.label_count > 1)
        ).all()
    database.dispose()
    return {"labels": list(labels), "tasks": list(tasks), "claims": list(claims)}


def counters_match(url: str, project_id: int) -> bool:
    """The dashboard's counters equal a count of the rows (read only: no recount is stored)."""
    database = Database.from_url(url)
    with database.read() as session:
        counted = read_counts(session, project_id)
        states = dict(
            session.execute(
                select(Item.state, func.count()).where(Item.project_id == project_id).group_by(Item.state)
            ).all()
        )
        claimed = session.scalar(
            select(func.count()).where(
                Item.project_id == project_id, Item.state == ItemState.unlabeled, Item.claim_count > 0
            )
        )
    database.dispose()
    rows = {ItemState(state).value: int(number) for state, number in states.items()}
    return all(counted.get(name, 0) == number for name, number in rows.items()) and counted.get(
        CLAIMED, 0
    ) == int(claimed or 0)


@contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    if not path:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(path)


def reference_figures(url: str, project_id: int, user_id: int, page_size: int) -> dict[str, Any]:
    """In-process, one call after another: the claim's SQL alone (candidates SELECT; SELECT + UPDATE +
    counter, rolled back), then whole claim_task + submit_labels cycles without HTTP, committed."""
    database = migrated(url)
    select_ms, claim_ms = [], []
    for _ in range(REFERENCE_CALLS):
        with database.read() as session:
            started = time.perf_counter()
            _candidates(session, claim_parameters(project_id, user_id, 1), (), page_size, False)
            select_ms.append((time.perf_counter() - started) * 1000)
        with database.write_sessions() as session:  # BEGIN IMMEDIATE on SQLite, as a claim does
            session.begin()
            started = time.perf_counter()
            waiting = waiting_kinds(session, project_id, user_id)
            _claim_items(session, project_id, user_id, TaskKind.manual, page_size, 1, waiting)
            claim_ms.append((time.perf_counter() - started) * 1000)
            session.rollback()
    check_ms, indexed_ms = [], []
    waiting = (Item.project_id == project_id, Item.state == ItemState.unlabeled)
    with database.read() as session:
        for samples, prelabeled in (
            (check_ms, Item.prelabeled.is_(True)),
            (indexed_ms, text("items.prelabeled")),
        ):
            for _ in range(PRELABELED_CHECKS):
                started = time.perf_counter()
                session.scalar(select(Item.id).where(*waiting, prelabeled).limit(1))
                samples.append((time.perf_counter() - started) * 1000)
    next_ms, submit_ms = [], []
    with _profiled(os.environ.get("TESSERA_BENCH_PROFILE")):
        for _ in range(REFERENCE_CYCLES):
            started = time.perf_counter()
            with database.write() as session:
                project = get_project(session, project_id)
                task = claim_task(session, project=project, user_id=user_id)
                assert task is not None
                task_id = task.id
                item_ids = [item_id for (item_id,) in session.execute(
                    select(TaskItem.item_id).where(TaskItem.task_id == task_id).order_by(TaskItem.position)
                )]  # fmt: skip
            next_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            with database.write() as session:
                project = get_project(session, project_id)
                submit_labels(
                    session,
                    project=project,
                    task=session.get_one(Task, task_id),
                    user_id=user_id,
                    submissions=[
                        Submission(item_id, {"classes": [CLASSES[item_id % len(CLASSES)]]}, 2.5)
                        for item_id in item_ids
                    ],
                    idempotency_key=f"reference-{task_id}",
                )
            submit_ms.append((time.perf_counter() - started) * 1000)
    database.dispose()
    return {
        "claim_select_only_p50_ms": ms(select_ms, 0.5),
        "claim_select_only_p99_ms": ms(select_ms, 0.99),
        "claim_sql_p50_ms": ms(claim_ms, 0.5),
        "claim_sql_p99_ms": ms(claim_ms, 0.99),
        # The claim's first question, "any pre-labeled item?", as the service asks it (`IS 1` on SQLite),
        # and as its partial index `WHERE prelabeled` can answer it.
        "prelabeled_check_p50_ms": ms(check_ms, 0.5),
        "prelabeled_check_through_index_p50_ms": ms(indexed_ms, 0.5),
        "service_next_p50_ms": ms(next_ms, 0.5),
        "service_next_p99_ms": ms(next_ms, 0.99),
        "service_submit_p50_ms": ms(submit_ms, 0.5),
        "service_submit_p99_ms": ms(submit_ms, 0.99),
        "service_cycles_per_s": round(1000 * len(next_ms) / (sum(next_ms) + sum(submit_ms)), 1),
    }
