"""Thumbnails made ahead: handing out a page of images makes, after the answer, the grid thumbnails of the
next two pages in the labeling order — not of the page handed out (its own requests make those) and not
of items already labeled; a box project (no grid) gets none."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import User
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item
from tessera.queue.lookahead import WarmedItems
from tests.support.data_api import ok
from tests.support.factories import bearer, make_token
from tests.support.web import project_from_images


def _made(settings: Settings, project_id: int) -> dict[int, int]:
    """Item id → thumbnail size, of the thumbnails cached for the project."""
    folder = settings.data_dir / "thumbnails" / str(project_id)
    names = [path.name for path in folder.glob("*.jpg")] if folder.exists() else []
    return {int(name.split("-")[0]): int(name.split("-")[1]) for name in names}


def _order(db: Database, project_id: int) -> list[int]:
    with db.read() as session:
        query = select(Item.id).where(Item.project_id == project_id).order_by(Item.rank, Item.id)
        return list(session.scalars(query).all())


def _labeler(db: Database, username: str) -> dict[str, str]:
    with db.write() as session:
        return bearer(
            make_token(session, session.scalars(select(User).where(User.username == username)).one())
        )


def test_a_claim_makes_the_next_pages_thumbnails(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    images = {f"photo{index:02d}.png": ((600, 400), (20 * index, 80, 160)) for index in range(11)}
    body = {"name": "Ahead", "task_type": "image_classification_multiclass", "label_classes": ["a", "b"]}
    made = project_from_images(client, db, settings, images=images, body=body, labeler="ann")
    project_id = made.project_id
    ok(client.put(f"/api/projects/{project_id}/labeling-settings", json={"page_size": 4}, headers=made.admin))
    labeler = _labeler(db, "ann")
    task = ok(client.post(f"/api/projects/{project_id}/tasks/next", json={}, headers=labeler))
    order = _order(db, project_id)
    assert [item["id"] for item in task["items"]] == order[:4]
    assert _made(settings, project_id) == dict.fromkeys(order[4:12], 512)  # two pages ahead: 7 are left

    labels = [{"item_id": item_id, "label": {"classes": ["a"]}} for item_id in order[:4]]
    answer = ok(
        client.post(f"/api/tasks/{task['id']}/submit", json={"labels": labels, "next": True}, headers=labeler)
    )
    assert [item["id"] for item in answer["next_task"]["items"]] == order[4:8]
    assert _made(settings, project_id) == dict.fromkeys(order[4:], 512)  # nothing new but what was left
    thumbnail = client.get(f"/api/items/{order[8]}/thumbnail?size=512", headers=labeler)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"


def test_a_project_without_a_grid_gets_no_thumbnails_ahead(
    client: TestClient, db: Database, settings: Settings
) -> None:
    images = {f"street{index}.png": ((300, 200), (90, 90, 90)) for index in range(3)}
    body = {"name": "Boxes", "task_type": "object_detection", "label_classes": ["car"]}
    made = project_from_images(client, db, settings, images=images, body=body, labeler="bob")
    ok(client.post(f"/api/projects/{made.project_id}/tasks/next", json={}, headers=_labeler(db, "bob")))
    assert _made(settings, made.project_id) == {}


def test_items_looked_at_are_remembered_and_the_oldest_forgotten() -> None:
    memo = WarmedItems(limit=3)
    assert memo.new([1, 2]) == [1, 2]
    assert memo.new([2, 3]) == [3]  # 2 was looked at by the claim before
    assert memo.new([1, 4]) == [4]  # 1 looked at again: now the most recent
    assert memo.new([2, 3]) == [2]  # 2 was the oldest of four: forgotten, 3 not
