"""Every statement a labeler's claim and submit run, and the dashboard's and the review's, finds its rows through an index:
none reads a whole table that grows with the project's items or labels. A task's labels were read by a
scan of every active label (no index on `annotations.task_id`), and `python -m bench queue` got slower
minute by minute as labels piled up; the same class of mistake fails here, on a project of a dozen items.

On SQLite, whose plans do not depend on how many rows a table holds (no statistics unless ANALYZE runs):
no `SCAN` of such a table in `EXPLAIN QUERY PLAN`. PostgreSQL's planner rightly reads a table of a dozen
rows whole, or walks a whole index, whatever indexes exist, so its plans here would say nothing about a
project of millions; the indexes are the same on both (tests/test_db.py checks the migrations)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tessera.api.app import create_app
from tessera.core.settings import Settings
from tessera.db.migrate import upgrade_database
from tessera.db.session import Database
from tessera.projects.models import LabelClass
from tessera.worker.runtime import Runtime
from tests.support.labeling import claim, classes, make_team, ok, submit

# Tables that grow with the items and the labels; the small ones (projects, users, counters) may be read
# whole.
GROWING = (
    "items", "item_order", "annotations", "label_events", "tasks", "task_items", "item_labels",
    "item_label_classes", "prelabels",
)  # fmt: skip


@contextmanager
def statements_run(db: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("SELECT", "UPDATE", "DELETE", "WITH"):
            seen.append((statement, parameters[0] if many else parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def full_scans(db: Database, statement: str, parameters: Any) -> list[str]:
    """The plan's lines that read a growing table whole, or every task the project ever had (a search
    of tasks by project alone: a claim looks for open tasks, and the project's closed ones pile up)."""
    with db.engine.connect() as connection:
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    return [
        line
        for line in plan
        if any(line.startswith(f"SCAN {table}") for table in GROWING)
        or (
            line.startswith("SEARCH tasks")
            and line.endswith("(project_id=?)")
            and "ix_tasks_open" not in line
        )
    ]


def assert_no_full_scans(db: Database, seen: list[tuple[str, Any]]) -> None:
    assert len(seen) > 20  # the capture saw the requests' statements
    scans = {
        statement: found for statement, parameters in seen if (found := full_scans(db, statement, parameters))
    }
    assert not scans, "\n\n".join(f"{statement}\n  -> {lines}" for statement, lines in scans.items())


KEYS = {"id", "project_id", "item_id", "task_id", "user_id"}  # a row's identity: never set by an UPDATE


def assert_no_key_rewritten(seen: list[tuple[str, Any]]) -> None:
    """No UPDATE sets a key column: an UPDATE takes a parameter named like a column as a SET value, and
    the claim's `project_id` (a parameter of its WHERE) had it SET items.project_id to itself, which
    rewrites every index on the column."""
    updates = [statement for statement, _ in seen if statement.lstrip().upper().startswith("UPDATE")]
    assert updates
    rewritten = {
        statement: sorted(
            KEYS & set(re.findall(r"(\w+)=", statement.split(" SET ", 1)[1].split(" WHERE ")[0]))
        )
        for statement in updates
    }
    assert not any(rewritten.values()), {statement: keys for statement, keys in rewritten.items() if keys}


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[tuple[TestClient, Database]]:
    """A server over a SQLite database of its own (the `db` fixture is PostgreSQL too)."""
    local = Settings(database_url=f"sqlite:///{tmp_path / 'plans.db'}", data_dir=tmp_path / "data")
    database = Database.from_url(local.database_url)
    upgrade_database(database.engine)
    runtime = Runtime.start(local, database=database, scheduler=False)
    try:
        with TestClient(create_app(local, runtime=runtime)) as client:
            yield client, database
    finally:
        runtime.stop()
        database.dispose()


def test_claims_submits_and_the_dashboard_read_no_growing_table_whole(
    sqlite: tuple[TestClient, Database],
) -> None:
    client, db = sqlite
    team = make_team(db, items=12, labelers=2)
    first, second = team.labelers
    with statements_run(db) as seen:
        task = claim(client, team, first)
        assert task is not None
        ids = [item["id"] for item in task["items"]]
        ok(submit(client, task, first, dict.fromkeys(ids, classes("cat")), idempotency_key="k1"))
        other = claim(client, team, second)
        assert other is not None
        ids = [item["id"] for item in other["items"]]
        chained = ok(submit(client, other, second, dict.fromkeys(ids, classes("dog")), next=True))
        assert chained["next_task"] is not None
        ok(client.get(f"/api/projects/{team.project_id}/dashboard", headers=team.manager))
    assert_no_full_scans(db, seen)
    assert_no_key_rewritten(seen)


def test_skips_label_changes_and_review_read_no_growing_table_whole(
    sqlite: tuple[TestClient, Database],
) -> None:
    client, db = sqlite
    team = make_team(db, items=12, labelers=1)
    (labeler,) = team.labelers
    project = f"/api/projects/{team.project_id}"
    task = claim(client, team, labeler)
    assert task is not None
    first, *rest = [item["id"] for item in task["items"]]
    with statements_run(db) as seen:
        ok(client.post(f"/api/tasks/{task['id']}/skip", json={"item_id": first}, headers=labeler))
        ok(submit(client, task, labeler, dict.fromkeys(rest, classes("cat"))))
        mine = client.get(f"{project}/my-annotations", headers=labeler).json()
        ok(client.put(f"/api/annotations/{mine[0]['id']}", json={"label": classes("dog")}, headers=labeler))
        listed = ok(client.get(f"{project}/review/items", headers=team.reviewer))["items"]
        with db.read() as session:
            cat = session.scalar(select(LabelClass.id).where(LabelClass.project_id == team.project_id))
        filters = (
            f"labeler_id={team.labeler_ids[0]}",
            f"class_id={cat}",
            "state=skipped",
            "prelabel=accepted",
        )
        for query in filters:
            ok(client.get(f"{project}/review/items?{query}", headers=team.reviewer))
        item = ok(client.get(f"/api/items/{listed[0]['id']}/review", headers=team.reviewer))
        decision = {"action": "reject", "version": item["version"]}
        ok(client.post(f"/api/items/{item['id']}/review", json=decision, headers=team.reviewer))
        ok(client.get(f"/api/items/{item['id']}/history", headers=team.reviewer))
    assert_no_full_scans(db, seen)
