"""Data in, through the API: a datastore, a dataset, a project initialized from it (ranks shuffled, the
cap respected, nothing found reported as such), text read row by row, and refreshes that add new files,
mark vanished ones missing and never run twice at once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tessera.api.app import create_app
from tessera.core import clock
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.models import ProjectData
from tessera.items.models import ItemHealth, ItemOrder
from tessera.worker.runtime import Runtime
from tessera.worker.scheduler import run_scheduler_once
from tests.support.data_api import (
    attach,
    job_done,
    make_dataset,
    make_project_via_api,
    ok,
    project_items,
)

Headers = dict[str, str]


def test_a_project_is_initialized_from_a_folder(
    client: TestClient, admin: Headers, root: Path, db: Database
) -> None:
    dataset_id = make_dataset(client, admin, root)
    project_id = make_project_via_api(client, admin)
    data = attach(client, admin, project_id, dataset_id)
    assert (data["state"], data["files_found"], data["items_loaded"], data["items_left_out"]) == (
        "ready",
        4,
        4,
        0,
    )
    assert ok(client.get(f"/api/projects/{project_id}", headers=admin))["status"] == "running"
    items = project_items(db, project_id)
    assert [item.path for item in items] == ["a.jpg", "b.PNG", "sub/c.jpeg", "sub/deeper/d.webp"]
    assert len({item.rank for item in items}) == 4
    # A local folder is listed without a stat per file: sizes come from object stores' listings only.
    assert all(item.health == ItemHealth.ok and item.size is None for item in items)
    with db.read() as session:
        order = session.execute(
            select(ItemOrder.rank, ItemOrder.item_id).where(ItemOrder.project_id == project_id)
        ).all()
    assert sorted(order) == sorted((item.rank, item.id) for item in items)


def test_the_dataset_cannot_change_and_must_fit_the_task_type(
    client: TestClient, admin: Headers, root: Path
) -> None:
    images = make_dataset(client, admin, root)
    texts = make_dataset(client, admin, root, media="text", name="texts")
    project_id = make_project_via_api(client, admin)
    mismatch = client.post(f"/api/projects/{project_id}/data", json={"dataset_id": texts}, headers=admin)
    assert mismatch.status_code == 422
    assert mismatch.json()["details"]["errors"][0]["field"] == "dataset_id"
    attach(client, admin, project_id, images)
    again = client.post(f"/api/projects/{project_id}/data", json={"dataset_id": images}, headers=admin)
    assert again.status_code == 409


def test_a_pattern_that_matches_nothing_reports_zero_and_where_it_looked(
    client: TestClient, admin: Headers, root: Path
) -> None:
    dataset_id = make_dataset(client, admin, root, patterns=["nothing-here/**"])
    data = attach(client, admin, make_project_via_api(client, admin), dataset_id)
    assert (data["state"], data["files_found"], data["items_loaded"]) == ("ready", 0, 0)
    assert "no file matched" in data["message"]
    assert "nothing-here/**" in data["searched"]


@pytest.fixture
def capped_client(runtime: Runtime, settings: Settings) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings.model_copy(update={"max_items_per_project": 3}), runtime=runtime)
    ) as client:
        yield client


def test_items_past_the_cap_are_left_out_and_counted(
    capped_client: TestClient, admin: Headers, root: Path, db: Database
) -> None:
    dataset_id = make_dataset(capped_client, admin, root)
    project_id = make_project_via_api(capped_client, admin)
    data = attach(capped_client, admin, project_id, dataset_id)
    assert (data["files_found"], data["items_loaded"], data["items_left_out"]) == (4, 3, 1)
    (root / "new.jpg").write_bytes(b"x")
    job = ok(capped_client.post(f"/api/projects/{project_id}/data/refresh", headers=admin), 202)
    assert job_done(capped_client, admin, job["id"])["result"]["items_added"] == 0
    assert len(project_items(db, project_id)) == 3


def test_text_is_read_per_file_and_per_row_and_bad_bytes_are_flagged(
    client: TestClient, admin: Headers, settings: Settings, db: Database
) -> None:
    folder = settings.data_dir / "datastores" / "texts"
    folder.mkdir(parents=True)
    (folder / "one.txt").write_text("A whole file is one item.", encoding="utf-8")
    (folder / "latin.txt").write_bytes("café crème".encode("latin-1"))
    (folder / "rows.csv").write_text('id,body\n1,first row\n2,"second, with comma"\n', encoding="utf-8")
    (folder / "lines.jsonl").write_text('{"body": "line one"}\n\n{"body": "line two"}\n', encoding="utf-8")
    (folder / "nobody.csv").write_text("id,other\n1,x\n", encoding="utf-8")
    dataset_id = make_dataset(client, admin, folder, media="text", text_column="body", name="texts")
    project_id = make_project_via_api(client, admin, "text_classification_multiclass")
    data = attach(client, admin, project_id, dataset_id)
    assert data["items_loaded"] == 7
    items = {(item.path, item.row_index): item for item in project_items(db, project_id)}
    assert items[("one.txt", 0)].text == "A whole file is one item."
    assert items[("rows.csv", 2)].text == "second, with comma"
    assert items[("lines.jsonl", 3)].text == "line two"
    latin = items[("latin.txt", 0)]
    assert latin.health == ItemHealth.replaced_characters
    assert latin.text == "caf\ufffd cr\ufffdme"
    broken = items[("nobody.csv", 0)]
    assert broken.health == ItemHealth.broken
    assert "'body'" in (broken.health_reason or "")


def test_a_refresh_adds_new_files_and_marks_vanished_ones_missing(
    client: TestClient, admin: Headers, root: Path, db: Database
) -> None:
    project_id = make_project_via_api(client, admin)
    attach(client, admin, project_id, make_dataset(client, admin, root))
    (root / "a.jpg").unlink()
    (root / "fresh.jpg").write_bytes(b"new")
    (root / "sub" / "fresh.gif").write_bytes(b"new")
    job = ok(client.post(f"/api/projects/{project_id}/data/refresh", headers=admin), 202)
    result = job_done(client, admin, job["id"])["result"]
    assert (result["items_added"], result["items_missing"]) == (2, 1)
    data = ok(client.get(f"/api/projects/{project_id}/data", headers=admin))
    assert (data["items_loaded"], data["last_refresh_added"]) == (6, 2)
    assert data["last_refresh_at"] is not None
    missing = [item for item in project_items(db, project_id) if item.health == ItemHealth.missing]
    assert [item.path for item in missing] == ["a.jpg"]
    assert "not in the datastore" in (missing[0].health_reason or "")


def test_a_file_name_that_is_not_utf8_becomes_a_broken_item_that_refreshes_leave_alone(
    client: TestClient, admin: Headers, root: Path, db: Database
) -> None:
    """A local folder may hold a name in another encoding (Latin-1 here); the load goes on, the item says
    what is wrong, and a refresh neither adds it again nor calls it missing."""
    with open(os.path.join(os.fsencode(root), b"caf\xe9.jpg"), "wb") as handle:
        handle.write(b"latin-1 name")
    project_id = make_project_via_api(client, admin)
    data = attach(client, admin, project_id, make_dataset(client, admin, root))
    assert (data["files_found"], data["items_loaded"]) == (5, 5)
    [bad] = [item for item in project_items(db, project_id) if item.health != ItemHealth.ok]
    assert (bad.path, bad.health) == ("caf\ufffd.jpg", ItemHealth.broken)
    assert "not valid UTF-8" in (bad.health_reason or "")
    job = ok(client.post(f"/api/projects/{project_id}/data/refresh", headers=admin), 202)
    result = job_done(client, admin, job["id"])["result"]
    assert (result["items_added"], result["items_missing"]) == (0, 0)
    assert [item.health for item in project_items(db, project_id) if item.id == bad.id] == [ItemHealth.broken]


def test_a_refresh_never_runs_twice_at_once(
    client: TestClient, admin: Headers, root: Path, settings: Settings, runtime: Runtime
) -> None:
    project_id = make_project_via_api(client, admin)
    attach(client, admin, project_id, make_dataset(client, admin, root))
    schedule = {"enabled": True, "interval_seconds": 60}
    ok(client.put(f"/api/projects/{project_id}/data/refresh-schedule", json=schedule, headers=admin))
    with runtime.database.write() as session:  # created an hour ago: due
        session.execute(update(ProjectData).values(created_at=clock.now() - timedelta(hours=1)))
    first = run_scheduler_once(runtime.database, settings)["refreshing"]
    second = run_scheduler_once(runtime.database, settings)["refreshing"]
    assert first == [project_id]
    assert second == []  # the first one holds the lease
    busy = client.post(f"/api/projects/{project_id}/data/refresh", headers=admin)
    assert busy.status_code in (202, 409)  # 409 while the scheduled one runs; 202 if it already ended


def test_a_datastore_outside_the_allowed_folders_is_refused(client: TestClient, admin: Headers) -> None:
    response = client.post(
        "/api/datastores", json={"name": "etc", "kind": "local", "config": {"root": "/etc"}}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["field"] == "config.root"
