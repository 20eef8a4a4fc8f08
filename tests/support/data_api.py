"""Data in through the API, as the tests drive it: a datastore and dataset over a folder, a project, its
attachment (waiting for the initialization job), and the project's items as rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.db.session import Database
from tessera.items.models import Item
from tests.support.polling import wait_for

Headers = dict[str, str]


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def ok_list(response: Any, status: int = 200) -> list[Any]:
    assert response.status_code == status, response.text
    return list(response.json())


def make_dataset(
    client: TestClient,
    admin: Headers,
    root: Path,
    *,
    media: str = "image",
    patterns: list[str] | None = None,
    text_column: str | None = None,
    name: str = "photos",
) -> int:
    store = ok(
        client.post(
            "/api/datastores",
            json={"name": f"{name} store", "kind": "local", "config": {"root": str(root)}},
            headers=admin,
        ),
        201,
    )
    dataset = ok(
        client.post(
            "/api/datasets",
            json={
                "name": name,
                "datastore_id": store["id"],
                "media": media,
                "patterns": patterns or ["**"],
                "text_column": text_column,
            },
            headers=admin,
        ),
        201,
    )
    return int(dataset["id"])


def make_project_via_api(
    client: TestClient, admin: Headers, task_type: str = "image_classification_multiclass"
) -> int:
    body = {"name": f"P {task_type}", "task_type": task_type, "label_classes": ["a", "b"]}
    return int(ok(client.post("/api/projects", json=body, headers=admin), 201)["id"])


def job_done(client: TestClient, admin: Headers, job_id: int) -> dict[str, Any]:
    return wait_for(
        lambda: ok(client.get(f"/api/jobs/{job_id}", headers=admin)),
        lambda job: job["status"] in ("succeeded", "failed"),
        what=f"job {job_id}",
    )


def attach(client: TestClient, admin: Headers, project_id: int, dataset_id: int) -> dict[str, Any]:
    started = ok(
        client.post(f"/api/projects/{project_id}/data", json={"dataset_id": dataset_id}, headers=admin), 202
    )
    assert started["data"]["state"] == "initializing"
    job = job_done(client, admin, started["job"]["id"])
    assert job["status"] == "succeeded", job["error"]
    return ok(client.get(f"/api/projects/{project_id}/data", headers=admin))


def project_items(db: Database, project_id: int) -> list[Item]:
    with db.read() as session:
        return list(session.scalars(select(Item).where(Item.project_id == project_id).order_by(Item.path)))
