"""What export tests share: a project of any task type made from real files in a local datastore (images
of given sizes, or .txt texts), labeled through the API by one labeler, and an export run to its end and
downloaded."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.accounts.memberships import set_member
from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item
from tests.support.data_api import attach, job_done, make_dataset, ok
from tests.support.factories import bearer, make_token, make_user

Headers = dict[str, str]


@dataclass(frozen=True)
class LabeledProject:
    project_id: int
    admin: Headers  # a workspace admin (owner of the project)
    labeler: Headers
    root: Path  # the datastore's folder
    item_ids: dict[str, int]  # file name → item id


def labeled_project(
    client: TestClient,
    db: Database,
    settings: Settings,
    *,
    task_type: str,
    classes: list[str],
    files: dict[str, tuple[int, int] | str],
    labels: dict[str, dict[str, Any] | None],
    name: str = "Exported",
) -> LabeledProject:
    """A project of `task_type` over `files` (name → (width, height) for an image, or the text of a .txt),
    whose items get `labels` (file name → the label as the API takes it; None or absent: left unlabeled),
    submitted by one labeler, one item at a time."""
    root = settings.data_dir / "datastores" / name.lower().replace(" ", "-")
    root.mkdir(parents=True)
    for file_name, content in files.items():
        path = root / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            Image.new("RGB", content, (120, 140, 160)).save(path)
    with db.write() as session:
        admin_user = make_user(session, f"{name.lower().replace(' ', '')}-admin", role=WorkspaceRole.admin)
        admin = bearer(make_token(session, admin_user))
        labeler_user = make_user(session, f"{name.lower().replace(' ', '')}-labeler")
        labeler = bearer(make_token(session, labeler_user))
        labeler_id = labeler_user.id
    body = {"name": name, "task_type": task_type, "label_classes": classes}
    project_id = int(ok(client.post("/api/projects", json=body, headers=admin), 201)["id"])
    media = "text" if task_type.startswith("text_") else "image"
    attach(client, admin, project_id, make_dataset(client, admin, root, media=media, name=f"{name} data"))
    with db.write() as session:
        set_member(session, project_id=project_id, user=labeler_user, role=ProjectRole.labeler)
    ok(client.put(f"/api/projects/{project_id}/labeling-settings", json={"page_size": 1}, headers=admin))
    with db.read() as session:
        rows = session.execute(select(Item.path, Item.id).where(Item.project_id == project_id)).all()
    item_ids = {str(row[0]): int(row[1]) for row in rows}
    wanted = {item_ids[file_name]: label for file_name, label in labels.items() if label is not None}
    if wanted:  # assigned to the labeler, so that the queue hands out these items first
        assignment = {"user_id": labeler_id, "item_ids": sorted(wanted)}
        ok(client.post(f"/api/projects/{project_id}/assignments", json=assignment, headers=admin))
    while wanted:
        task = ok(client.post(f"/api/projects/{project_id}/tasks/next", json={}, headers=labeler))
        [item] = task["items"]
        label = wanted.pop(item["id"])
        submission = {"labels": [{"item_id": item["id"], "label": label}]}
        ok(client.post(f"/api/tasks/{task['id']}/submit", json=submission, headers=labeler))
    return LabeledProject(project_id, admin, labeler, root, item_ids)


def run_export(
    client: TestClient, headers: Headers, project_id: int, fmt: str, options: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bytes]:
    """Start an export, wait for its job, and download it: (the export as the API shows it, its bytes)."""
    body = {"format": fmt, "options": options or {}}
    started = ok(client.post(f"/api/projects/{project_id}/exports", json=body, headers=headers), 202)
    job = job_done(client, headers, started["job_id"])
    assert job["status"] == "succeeded", job["error"]
    export = ok(client.get(f"/api/exports/{started['id']}", headers=headers))
    assert export["state"] == "ready" and export["download_url"]
    download = client.get(export["download_url"], headers=headers)
    assert download.status_code == 200, download.text
    return export, download.content


def unzip(data: bytes, into: Path) -> list[str]:
    """The files of a zip export, written under `into`; their names."""
    with zipfile.ZipFile(io.BytesIO(data)) as packed:
        packed.extractall(into)
        return sorted(packed.namelist())
