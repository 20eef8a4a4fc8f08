"""Dataset versions: each load records one, removing data is a new version (the old listings stay as they
were), a refresh never brings removed files back, and a file that comes back is healthy again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tessera.core import clock
from tessera.db.session import Database
from tessera.ingest.models import DataState, ProjectData
from tessera.items.models import ItemHealth, ItemOrder, ItemState
from tests.support.data_api import attach, job_done, make_dataset, make_project_via_api, ok, project_items

Headers = dict[str, str]


@pytest.fixture
def project(client: TestClient, admin: Headers, root: Path) -> int:
    project_id = make_project_via_api(client, admin)
    attach(client, admin, project_id, make_dataset(client, admin, root))
    return project_id


def _versions(client: TestClient, admin: Headers, project_id: int) -> list[dict[str, Any]]:
    return list(ok(client.get(f"/api/projects/{project_id}/data/versions", headers=admin))["items"])


def _listing(client: TestClient, admin: Headers, project_id: int, number: int) -> list[str]:
    url = f"/api/projects/{project_id}/data/versions/{number}/items?limit=2"
    paths, cursor = [], ""
    while True:  # paged, to exercise the cursor
        page = ok(client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=admin))
        paths += [item["path"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            return sorted(paths)


def _remove(client: TestClient, admin: Headers, project_id: int, **body: Any) -> Any:
    return client.post(f"/api/projects/{project_id}/data/removals", json=body, headers=admin)


def _order(db: Database, project_id: int) -> list[int]:
    with db.read() as session:
        return list(
            session.scalars(
                select(ItemOrder.item_id).where(ItemOrder.project_id == project_id).order_by(ItemOrder.rank)
            )
        )


def _refresh(client: TestClient, admin: Headers, project_id: int) -> dict[str, Any]:
    job = ok(client.post(f"/api/projects/{project_id}/data/refresh", headers=admin), 202)
    done = job_done(client, admin, job["id"])
    assert done["status"] == "succeeded", done["error"]
    return dict(done["result"])


ALL = ["a.jpg", "b.PNG", "sub/c.jpeg", "sub/deeper/d.webp"]


def test_removing_data_is_a_new_version_and_old_listings_stay(
    client: TestClient, admin: Headers, project: int, db: Database
) -> None:
    [first] = _versions(client, admin, project)
    assert (first["number"], first["reason"], first["files_added"], first["files_removed"]) == (
        1,
        "initialization",
        4,
        0,
    )
    version = ok(_remove(client, admin, project, paths=["a.jpg"], patterns=["sub/deeper/**"]), 201)
    assert (version["number"], version["reason"], version["files_removed"]) == (2, "removal", 2)

    assert _listing(client, admin, project, 1) == ALL  # the frozen listing of version 1 is unchanged
    assert _listing(client, admin, project, 2) == ["b.PNG", "sub/c.jpeg"]
    data = ok(client.get(f"/api/projects/{project}/data", headers=admin))
    assert (data["items_loaded"], data["message"]) == (2, "version 2: 2 items removed")

    items = {item.path: item for item in project_items(db, project)}
    assert {path for path, item in items.items() if item.state == ItemState.removed} == {
        "a.jpg",
        "sub/deeper/d.webp",
    }
    assert sorted(_order(db, project)) == sorted([items["b.PNG"].id, items["sub/c.jpeg"].id])


def test_a_refresh_never_adds_removed_files_back_and_records_its_version(
    client: TestClient, admin: Headers, project: int, root: Path
) -> None:
    ok(_remove(client, admin, project, patterns=["sub/**"]), 201)
    (root / "e.gif").write_bytes(b"new")
    result = _refresh(client, admin, project)
    assert (result["items_added"], result["items_missing"]) == (1, 0)
    assert [v["reason"] for v in _versions(client, admin, project)] == [
        "initialization",
        "removal",
        "refresh",
    ]
    assert _listing(client, admin, project, 3) == ["a.jpg", "b.PNG", "e.gif"]
    assert ok(client.get(f"/api/projects/{project}/data", headers=admin))["items_loaded"] == 3


def test_a_file_that_comes_back_is_healthy_again(
    client: TestClient, admin: Headers, project: int, root: Path, db: Database
) -> None:
    kept = (root / "a.jpg").read_bytes()
    (root / "a.jpg").unlink()
    assert _refresh(client, admin, project)["items_missing"] == 1
    (root / "a.jpg").write_bytes(kept)
    result = _refresh(client, admin, project)
    assert (result["items_added"], result["items_missing"], result["items_returned"]) == (0, 0, 1)
    assert all(item.health == ItemHealth.ok for item in project_items(db, project))


def test_a_removal_that_names_what_is_not_there_removes_nothing(
    client: TestClient, admin: Headers, project: int, db: Database
) -> None:
    response = _remove(client, admin, project, paths=["a.jpg", "nope.jpg"])
    assert response.status_code == 422
    assert "'nope.jpg'" in response.json()["message"]
    assert _remove(client, admin, project, patterns=["zzz/**"]).status_code == 422
    assert _remove(client, admin, project).status_code == 422
    escaping = _remove(client, admin, project, paths=["../outside.jpg"])
    assert escaping.status_code == 422
    assert escaping.json()["details"]["errors"][0]["field"] == "paths.0"
    assert all(item.state == ItemState.unlabeled for item in project_items(db, project))
    assert len(_versions(client, admin, project)) == 1


def test_a_removal_waits_for_the_data_to_be_ready_and_for_a_refresh_to_end(
    client: TestClient, admin: Headers, project: int, db: Database
) -> None:
    with db.write() as session:
        session.execute(
            update(ProjectData).where(ProjectData.project_id == project).values(state=DataState.initializing)
        )
    assert _remove(client, admin, project, paths=["a.jpg"]).status_code == 409
    with db.write() as session:  # ready, but a refresh holds the project (as a running one does)
        session.execute(
            update(ProjectData)
            .where(ProjectData.project_id == project)
            .values(state=DataState.ready, refresh_lease_until=clock.now() + timedelta(minutes=5))
        )
    response = _remove(client, admin, project, paths=["a.jpg"])
    assert response.status_code == 409
    assert "refresh" in response.json()["message"]


def test_a_version_that_does_not_exist_is_404(client: TestClient, admin: Headers, project: int) -> None:
    assert client.get(f"/api/projects/{project}/data/versions/9/items", headers=admin).status_code == 404
