"""What the ML benchmarks share: a real `tessera serve` with an admin and a labeler, a project over a
folder through the API, and ML assist's state read through the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.support import fresh_database, migrated, server
from tessera.accounts.models import WorkspaceRole
from tessera.accounts.service import create_api_token, create_user

PASSWORD = "bench bench bench"


@dataclass
class Crew:
    base: str
    admin: httpx.Client
    labeler: httpx.Client
    labeler_id: int
    database_url: str
    data_dir: Path


def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
    return response.json() if response.content else None


@contextmanager
def crew(scratch: Path, database: str | None, env: dict[str, str]) -> Iterator[Crew]:
    url = fresh_database(database, scratch)
    db = migrated(url)
    with db.write() as session:
        admin = create_user(session, username="bench", password=PASSWORD, workspace_role=WorkspaceRole.admin)
        labeler = create_user(
            session, username="labeler", password=PASSWORD, workspace_role=WorkspaceRole.member
        )
        admin_token = create_api_token(session, user=admin, name="bench")[1]
        labeler_token = create_api_token(session, user=labeler, name="bench")[1]
        labeler_id = labeler.id
    db.dispose()
    data_dir = scratch / "data"
    admin_headers = {"Authorization": f"Bearer {admin_token}"}
    labeler_headers = {"Authorization": f"Bearer {labeler_token}"}
    with (
        server(url, data_dir, env) as (base, _process),
        httpx.Client(base_url=base, headers=admin_headers, timeout=120) as a,
        httpx.Client(base_url=base, headers=labeler_headers, timeout=120) as b,
    ):
        yield Crew(base, a, b, labeler_id, url, data_dir)


def wait_job(admin: httpx.Client, job_id: int, timeout: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (job := ok(admin.get(f"/api/jobs/{job_id}")))["status"] not in ("succeeded", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} did not finish: {job}")
        time.sleep(0.1)
    if job["status"] != "succeeded":
        raise SystemExit(f"job {job_id} {job['status']}: {job['error']}")
    return dict(job)


def make_project(
    team: Crew, name: str, task_type: str, classes: list[str], root: Path, media: str, page_size: int
) -> int:
    body = {"name": name, "task_type": task_type, "label_classes": classes}
    project_id = int(ok(team.admin.post("/api/projects", json=body), 201)["id"])
    ok(team.admin.put(f"/api/projects/{project_id}/labeling-settings", json={"page_size": page_size}))
    ok(team.admin.put(f"/api/projects/{project_id}/members/{team.labeler_id}", json={"role": "labeler"}))
    store = {"name": f"{name} store", "kind": "local", "config": {"root": str(root)}}
    store_id = ok(team.admin.post("/api/datastores", json=store), 201)["id"]
    dataset = {"name": name, "datastore_id": store_id, "media": media, "patterns": ["**"]}
    dataset_id = ok(team.admin.post("/api/datasets", json=dataset), 201)["id"]
    started = ok(team.admin.post(f"/api/projects/{project_id}/data", json={"dataset_id": dataset_id}), 202)
    wait_job(team.admin, started["job"]["id"])
    return project_id


def ml_state(team: Crew, project_id: int) -> dict[str, Any]:
    return dict(ok(team.admin.get(f"/api/projects/{project_id}/ml")))


def wait_ml_idle(team: Crew, project_id: int, *, grace: float, timeout: float = 3600) -> dict[str, Any]:
    """Wait until no ML job is queued or running; a job the scheduler may still start within `grace`
    seconds is waited for too."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while True:
        state = ml_state(team, project_id)
        if state["active_job"] is None:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= grace:
                return state
        else:
            quiet_since = None
        if time.monotonic() > deadline:
            raise SystemExit(f"ML assist did not settle: {state}")
        time.sleep(0.05)
