"""Every API route × every role: the allowed roles get a 2xx, the others 403 (401 when anonymous).

The table below must list every route the app serves under /api — a new route without a row fails
`test_the_matrix_covers_every_route`, so no route can skip its policy check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.accounts.models import ApiToken, ProjectRole, WorkspaceRole
from tessera.api.app import create_app
from tessera.core import clock
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats.models import Export, ExportState
from tessera.ingest.models import Dataset, DatasetVersion, DataState, Datastore, Media, ProjectData
from tessera.ingest.uploads import create_upload_dataset
from tessera.items.models import Item, ItemState
from tessera.jobs.models import Job, JobStatus
from tessera.labels.models import Annotation
from tessera.ml.backbones import MobileNetV2
from tessera.ml.embeddings import EmbeddingStore
from tessera.queue.models import Task, TaskItem, TaskKind
from tessera.review.models import ClassCount, ItemLabel, LabelSource
from tests.support.factories import PASSWORD, bearer, make_project, make_token, make_user

ROLES = ("anonymous", "member", "creator", "labeler", "reviewer", "manager", "owner", "admin")
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
IN_PROJECT = frozenset({"labeler", "reviewer", "manager", "owner", "admin"})
REVIEWERS = frozenset({"reviewer", "manager", "owner", "admin"})
TASK_OWNER = frozenset({"labeler"})  # the world's task and annotation are the labeler's
MANAGERS = frozenset({"manager", "owner", "admin"})
OWNERS = frozenset({"owner", "admin"})
ADMIN = frozenset({"admin"})


@dataclass
class World:
    """One project with a member of each role, an outsider to add, and jobs to act on."""

    project_id: int
    user_ids: dict[str, int]
    token_ids: dict[str, int]
    tokens: dict[str, str]
    running_job_id: int
    failed_job_id: int
    bare_project_id: int  # a project with no data yet, same members
    datastore_id: int
    dataset_id: int
    store_root: str
    item_id: int
    upload_dataset_id: int
    task_id: int  # the labeler's open task, holding item_id
    labeled_item_id: int  # labeled by the labeler: annotation_id
    annotation_id: int
    export_id: int  # a ready export of the project, its file on disk


@dataclass(frozen=True)
class Upload:
    """A multipart/form-data body of these (name, bytes) files."""

    files: list[tuple[str, bytes]]


Body = dict[str, Any] | Upload | None
Request = Callable[[World, str], tuple[str, Body]]


def fixed(path: str, body: Body = None) -> Request:
    return lambda world, role: (path.format(p=world.project_id), body)


MATRIX: dict[tuple[str, str], tuple[frozenset[str], Request]] = {
    ("GET", "/api/health"): (EVERYONE, fixed("/api/health")),
    ("POST", "/api/auth/sign-in"): (
        EVERYONE,
        fixed("/api/auth/sign-in", {"username": "owner", "password": PASSWORD}),
    ),
    ("POST", "/api/auth/sign-out"): (SIGNED_IN, fixed("/api/auth/sign-out")),
    ("GET", "/api/auth/me"): (SIGNED_IN, fixed("/api/auth/me")),
    ("GET", "/api/users"): (ADMIN, fixed("/api/users")),
    ("POST", "/api/users"): (ADMIN, fixed("/api/users", {"username": "newbie", "password": "long enough"})),
    ("PATCH", "/api/users/{user_id}"): (
        ADMIN,
        lambda world, role: (f"/api/users/{world.user_ids['extra']}", {"display_name": "Extra"}),
    ),
    ("GET", "/api/tokens"): (SIGNED_IN, fixed("/api/tokens")),
    ("POST", "/api/tokens"): (SIGNED_IN, fixed("/api/tokens", {"name": "another"})),
    ("DELETE", "/api/tokens/{token_id}"): (
        SIGNED_IN,
        lambda world, role: (f"/api/tokens/{world.token_ids.get(role, 0)}", None),
    ),
    ("GET", "/api/task-types"): (SIGNED_IN, fixed("/api/task-types")),
    ("GET", "/api/projects"): (SIGNED_IN, fixed("/api/projects")),
    ("POST", "/api/projects"): (
        frozenset({"creator", "admin"}),
        fixed("/api/projects", {"name": "Fresh", "task_type": "text_ner", "label_classes": ["PER"]}),
    ),
    ("POST", "/api/instructions/preview"): (
        SIGNED_IN,
        fixed("/api/instructions/preview", {"markdown": "Label **cats**."}),
    ),
    ("GET", "/api/projects/{project_id}"): (IN_PROJECT, fixed("/api/projects/{p}")),
    ("PATCH", "/api/projects/{project_id}"): (MANAGERS, fixed("/api/projects/{p}", {"name": "Renamed"})),
    ("DELETE", "/api/projects/{project_id}"): (OWNERS, fixed("/api/projects/{p}")),
    ("PUT", "/api/projects/{project_id}/label-classes"): (
        MANAGERS,
        lambda world, role: (  # the bare project: changing classes where labeling started needs a pause
            f"/api/projects/{world.bare_project_id}/label-classes",
            {"label_classes": [{"name": "a"}, {"name": "b"}]},
        ),
    ),
    ("POST", "/api/projects/{project_id}/pause"): (MANAGERS, fixed("/api/projects/{p}/pause")),
    ("POST", "/api/projects/{project_id}/resume"): (MANAGERS, fixed("/api/projects/{p}/resume")),
    ("GET", "/api/projects/{project_id}/instructions"): (IN_PROJECT, fixed("/api/projects/{p}/instructions")),
    ("GET", "/api/projects/{project_id}/members"): (MANAGERS, fixed("/api/projects/{p}/members")),
    ("PUT", "/api/projects/{project_id}/members/{user_id}"): (
        MANAGERS,
        lambda world, role: (
            f"/api/projects/{world.project_id}/members/{world.user_ids['extra']}",
            {"role": "labeler"},
        ),
    ),
    ("PUT", "/api/projects/{project_id}/members/by-username/{username}"): (
        MANAGERS,
        lambda world, role: (
            f"/api/projects/{world.project_id}/members/by-username/extra",
            {"role": "labeler"},
        ),
    ),
    ("DELETE", "/api/projects/{project_id}/members/{user_id}"): (
        MANAGERS,
        lambda world, role: (f"/api/projects/{world.project_id}/members/{world.user_ids['labeler']}", None),
    ),
    ("GET", "/api/projects/{project_id}/export-formats"): (
        REVIEWERS,
        fixed("/api/projects/{p}/export-formats"),
    ),
    ("POST", "/api/projects/{project_id}/exports"): (
        REVIEWERS,
        fixed("/api/projects/{p}/exports", {"format": "csv"}),
    ),
    ("GET", "/api/projects/{project_id}/exports"): (REVIEWERS, fixed("/api/projects/{p}/exports")),
    ("GET", "/api/exports/{export_id}"): (
        REVIEWERS,
        lambda world, role: (f"/api/exports/{world.export_id}", None),
    ),
    ("GET", "/api/exports/{export_id}/download"): (
        REVIEWERS,
        lambda world, role: (f"/api/exports/{world.export_id}/download", None),
    ),
    ("POST", "/api/projects/{project_id}/imports"): (
        MANAGERS,
        fixed(
            "/api/projects/{p}/imports?format=csv&mode=prelabels",
            Upload([("labels.csv", b"path,label\none.jpg,cat\n")]),
        ),
    ),
    ("GET", "/api/jobs"): (ADMIN, fixed("/api/jobs")),
    ("GET", "/api/projects/{project_id}/jobs"): (MANAGERS, fixed("/api/projects/{p}/jobs")),
    ("GET", "/api/jobs/{job_id}"): (
        MANAGERS,
        lambda world, role: (f"/api/jobs/{world.running_job_id}", None),
    ),
    ("POST", "/api/jobs/{job_id}/cancel"): (
        MANAGERS,
        lambda world, role: (f"/api/jobs/{world.running_job_id}/cancel", None),
    ),
    ("POST", "/api/jobs/{job_id}/retry"): (
        MANAGERS,
        lambda world, role: (f"/api/jobs/{world.failed_job_id}/retry", None),
    ),
    ("GET", "/api/datastores"): (frozenset({"creator", "admin"}), fixed("/api/datastores")),
    ("POST", "/api/datastores"): (
        frozenset({"creator", "admin"}),
        lambda world, role: (
            "/api/datastores",
            {"name": "new", "kind": "local", "config": {"root": world.store_root}},
        ),
    ),
    ("GET", "/api/datasets"): (frozenset({"creator", "admin"}), fixed("/api/datasets")),
    ("POST", "/api/datasets"): (
        frozenset({"creator", "admin"}),
        lambda world, role: (
            "/api/datasets",
            {"name": "new", "datastore_id": world.datastore_id, "patterns": ["**"], "media": "image"},
        ),
    ),
    ("POST", "/api/datasets/uploads"): (
        frozenset({"creator", "admin"}),
        fixed("/api/datasets/uploads", {"name": "new uploads", "media": "image"}),
    ),
    ("POST", "/api/datasets/{dataset_id}/files"): (
        frozenset({"creator", "admin"}),
        lambda world, role: (
            f"/api/datasets/{world.upload_dataset_id}/files",
            Upload([("one.jpg", b"x"), ("sub/two.png", b"y")]),
        ),
    ),
    ("GET", "/api/projects/{project_id}/data"): (MANAGERS, fixed("/api/projects/{p}/data")),
    ("POST", "/api/projects/{project_id}/data"): (
        MANAGERS,
        lambda world, role: (f"/api/projects/{world.bare_project_id}/data", {"dataset_id": world.dataset_id}),
    ),
    ("PUT", "/api/projects/{project_id}/data/refresh-schedule"): (
        MANAGERS,
        fixed("/api/projects/{p}/data/refresh-schedule", {"enabled": True, "interval_seconds": 3600}),
    ),
    ("POST", "/api/projects/{project_id}/data/refresh"): (MANAGERS, fixed("/api/projects/{p}/data/refresh")),
    ("GET", "/api/projects/{project_id}/data/versions"): (MANAGERS, fixed("/api/projects/{p}/data/versions")),
    ("GET", "/api/projects/{project_id}/data/versions/{number}/items"): (
        MANAGERS,
        fixed("/api/projects/{p}/data/versions/1/items"),
    ),
    ("POST", "/api/projects/{project_id}/data/removals"): (
        MANAGERS,
        fixed("/api/projects/{p}/data/removals", {"paths": ["one.jpg"]}),
    ),
    ("GET", "/api/projects/{project_id}/labeling-settings"): (
        IN_PROJECT,
        fixed("/api/projects/{p}/labeling-settings"),
    ),
    ("PUT", "/api/projects/{project_id}/labeling-settings"): (
        MANAGERS,
        fixed("/api/projects/{p}/labeling-settings", {"lease_seconds": 600}),
    ),
    ("POST", "/api/projects/{project_id}/tasks/next"): (
        IN_PROJECT,
        fixed("/api/projects/{p}/tasks/next", {}),
    ),
    ("GET", "/api/tasks/{task_id}"): (IN_PROJECT, lambda world, role: (f"/api/tasks/{world.task_id}", None)),
    ("POST", "/api/tasks/{task_id}/submit"): (
        TASK_OWNER,
        lambda world, role: (
            f"/api/tasks/{world.task_id}/submit",
            {"labels": [{"item_id": world.item_id, "label": {"classes": ["cat"]}}]},
        ),
    ),
    ("POST", "/api/tasks/{task_id}/skip"): (
        TASK_OWNER,
        lambda world, role: (f"/api/tasks/{world.task_id}/skip", {"item_id": world.item_id}),
    ),
    ("POST", "/api/tasks/{task_id}/release"): (
        TASK_OWNER | MANAGERS,
        lambda world, role: (f"/api/tasks/{world.task_id}/release", None),
    ),
    ("POST", "/api/tasks/{task_id}/renew"): (
        TASK_OWNER,
        lambda world, role: (f"/api/tasks/{world.task_id}/renew", None),
    ),
    ("GET", "/api/projects/{project_id}/my-annotations"): (
        IN_PROJECT,
        fixed("/api/projects/{p}/my-annotations"),
    ),
    ("PUT", "/api/annotations/{annotation_id}"): (
        TASK_OWNER,
        lambda world, role: (f"/api/annotations/{world.annotation_id}", {"label": {"classes": ["dog"]}}),
    ),
    ("GET", "/api/projects/{project_id}/assignments"): (MANAGERS, fixed("/api/projects/{p}/assignments")),
    ("POST", "/api/projects/{project_id}/assignments"): (
        MANAGERS,
        lambda world, role: (
            f"/api/projects/{world.project_id}/assignments",
            {"user_id": world.user_ids["labeler"], "item_ids": [world.item_id]},
        ),
    ),
    ("DELETE", "/api/projects/{project_id}/assignments/{user_id}"): (
        MANAGERS,
        lambda world, role: (
            f"/api/projects/{world.project_id}/assignments/{world.user_ids['labeler']}",
            None,
        ),
    ),
    ("GET", "/api/projects/{project_id}/review/items"): (REVIEWERS, fixed("/api/projects/{p}/review/items")),
    ("GET", "/api/items/{item_id}/review"): (
        REVIEWERS,
        lambda world, role: (f"/api/items/{world.labeled_item_id}/review", None),
    ),
    ("GET", "/api/items/{item_id}/history"): (
        REVIEWERS,
        lambda world, role: (f"/api/items/{world.labeled_item_id}/history", None),
    ),
    ("POST", "/api/items/{item_id}/review"): (
        REVIEWERS,
        lambda world, role: (
            f"/api/items/{world.labeled_item_id}/review",
            {"action": "reject", "version": 1},
        ),
    ),
    ("GET", "/api/projects/{project_id}/dashboard"): (REVIEWERS, fixed("/api/projects/{p}/dashboard")),
    ("GET", "/api/projects/{project_id}/agreement"): (REVIEWERS, fixed("/api/projects/{p}/agreement")),
    ("GET", "/api/items/{item_id}/content"): (
        IN_PROJECT,
        lambda world, role: (f"/api/items/{world.item_id}/content", None),
    ),
    ("GET", "/api/items/{item_id}/thumbnail"): (
        IN_PROJECT,
        lambda world, role: (f"/api/items/{world.item_id}/thumbnail", None),
    ),
    ("GET", "/api/projects/{project_id}/ml"): (REVIEWERS, fixed("/api/projects/{p}/ml")),
    ("PATCH", "/api/projects/{project_id}/ml/settings"): (
        MANAGERS,
        fixed("/api/projects/{p}/ml/settings", {"retrain_every": 60}),
    ),
    ("POST", "/api/projects/{project_id}/ml/train"): (MANAGERS, fixed("/api/projects/{p}/ml/train")),
    ("POST", "/api/projects/{project_id}/ml/featurize"): (MANAGERS, fixed("/api/projects/{p}/ml/featurize")),
    ("GET", "/api/projects/{project_id}/ml/models"): (REVIEWERS, fixed("/api/projects/{p}/ml/models")),
    ("GET", "/api/items/{item_id}/similar"): (
        REVIEWERS,
        lambda world, role: (f"/api/items/{world.item_id}/similar?k=1", None),
    ),
    ("POST", "/api/jobs/system-check"): (
        ADMIN,
        fixed("/api/jobs/system-check", {"steps": 1, "step_seconds": 0}),
    ),
}


def test_the_matrix_covers_every_route(settings: Settings) -> None:
    """Routes as the OpenAPI document lists them (every /api route is in it: none is hidden)."""
    paths = create_app(settings).openapi()["paths"]
    served = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    assert served - set(MATRIX) == set(), "routes without a row in the role matrix"
    assert set(MATRIX) - served == set(), "rows for routes that no longer exist"


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    store_root = settings.data_dir / "datastores" / "matrix"
    store_root.mkdir(parents=True)
    Image.new("RGB", (64, 48), (10, 120, 200)).save(store_root / "one.jpg", "JPEG")
    with db.write() as session:
        users = {
            "member": make_user(session, "member"),
            "creator": make_user(session, "creator", role=WorkspaceRole.creator),
            "labeler": make_user(session, "labeler"),
            "reviewer": make_user(session, "reviewer"),
            "manager": make_user(session, "manager"),
            "owner": make_user(session, "owner"),
            "admin": make_user(session, "admin", role=WorkspaceRole.admin),
            "extra": make_user(session, "extra"),
        }
        project = make_project(
            session,
            users["owner"],
            members={users[role]: ProjectRole(role) for role in ("labeler", "reviewer", "manager")},
        )
        tokens = {role: make_token(session, user) for role, user in users.items() if role != "extra"}
        jobs = [
            Job(kind="test.noop", project_id=project.id, status=status, params={}, message=status.value)
            for status in (JobStatus.running, JobStatus.failed)
        ]
        session.add_all(jobs)
        bare = make_project(
            session,
            users["owner"],
            members={users[role]: ProjectRole(role) for role in ("labeler", "reviewer", "manager")},
        )
        datastore = Datastore(name="matrix", kind="local", config={"root": str(store_root)})
        session.add(datastore)
        session.flush()
        dataset = Dataset(name="matrix", datastore_id=datastore.id, patterns=["**"], media=Media.image)
        session.add(dataset)
        session.flush()
        session.add(ProjectData(project_id=project.id, dataset_id=dataset.id, seed=1, state=DataState.ready))
        uploads = create_upload_dataset(
            session,
            settings=settings,
            name="uploads",
            media=Media.image,
            text_column=None,
            created_by_id=None,
        )
        version = DatasetVersion(
            dataset_id=dataset.id, project_id=project.id, number=1, reason="initialization"
        )
        session.add(version)
        session.flush()
        item = Item(
            project_id=project.id, path="one.jpg", rank=1, dataset_version_id=version.id, claim_count=1
        )
        labeled = Item(
            project_id=project.id, path="two.jpg", rank=2, dataset_version_id=version.id, label_count=1,
            state=ItemState.labeled,
        )  # fmt: skip
        session.add_all([item, labeled])
        session.flush()
        task = Task(
            project_id=project.id, user_id=users["labeler"].id, kind=TaskKind.manual,
            lease_until=clock.now() + timedelta(minutes=15),
        )  # fmt: skip
        session.add(task)
        session.flush()
        session.add(TaskItem(task_id=task.id, item_id=item.id, position=0))
        cat = next(label.id for label in project.label_classes if label.name == "cat")
        annotation = Annotation(
            project_id=project.id, item_id=labeled.id, user_id=users["labeler"].id, payload={"classes": [cat]}
        )
        session.add_all(
            [
                annotation,
                ItemLabel(
                    item_id=labeled.id,
                    project_id=project.id,
                    payload={"classes": [cat]},
                    source=LabelSource.single,
                ),
            ]
        )
        dog = next(label.id for label in project.label_classes if label.name == "dog")
        # ML assist: two classes with two labels each (a training may start) and embeddings to compare.
        session.add_all([ClassCount(project_id=project.id, class_id=c, items=2) for c in (cat, dog)])
        EmbeddingStore.of(settings.data_dir, project.id, MobileNetV2(settings.data_dir / "models").key).add(
            np.array([item.id, labeled.id]), np.eye(2, 1280, dtype=np.float32)
        )
        export_folder = settings.data_dir / "exports" / str(project.id)
        export_folder.mkdir(parents=True, exist_ok=True)
        (export_folder / "matrix.csv").write_text("item_id,path\n")
        export = Export(
            project_id=project.id, format="csv", options={}, state=ExportState.ready, file_name="matrix.csv"
        )
        session.add(export)
        session.flush()
        token_ids = {
            role: session.scalars(select(ApiToken.id).where(ApiToken.user_id == users[role].id)).one()
            for role in tokens
        }
        return World(
            project_id=project.id,
            user_ids={role: user.id for role, user in users.items()},
            token_ids=token_ids,
            tokens=tokens,
            running_job_id=jobs[0].id,
            failed_job_id=jobs[1].id,
            bare_project_id=bare.id,
            datastore_id=datastore.id,
            dataset_id=dataset.id,
            store_root=str(store_root),
            item_id=item.id,
            upload_dataset_id=uploads.id,
            task_id=task.id,
            labeled_item_id=labeled.id,
            annotation_id=annotation.id,
            export_id=export.id,
        )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda route: f"{route[0]} {route[1]}")
def test_route_allows_exactly_its_roles(
    client: TestClient, world: World, route: tuple[str, str], role: str
) -> None:
    allowed, build = MATRIX[route]
    path, body = build(world, role)
    headers = bearer(world.tokens[role]) if role != "anonymous" else {}
    if isinstance(body, Upload):
        files = [("files", (name, data, "application/octet-stream")) for name, data in body.files]
        response = client.request(route[0], path, files=files, headers=headers)
    else:
        response = client.request(route[0], path, json=body, headers=headers)
    if role in allowed:
        assert 200 <= response.status_code < 300, (
            f"{role} should be allowed: {response.status_code} {response.text}"
        )
    else:
        expected = 401 if role == "anonymous" else 403
        assert response.status_code == expected, (
            f"{role} should be refused: {response.status_code} {response.text}"
        )
        assert response.json()["code"] in ("unauthenticated", "forbidden")
