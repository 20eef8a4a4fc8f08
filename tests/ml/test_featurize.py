"""Featurization of an image project made from real files through the API, with the real MobileNetV2:
every item embedded once; after a refresh brings new files, only those are embedded; a file that is no
image or that is gone is skipped with its reason and its item marked; nothing is embedded twice. Similar
items are found once embedded, and refused (409) before."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item, ItemHealth, ItemOrder
from tessera.jobs.models import Job
from tessera.ml.backbones import MobileNetV2
from tessera.ml.embeddings import EmbeddingStore
from tessera.ml.service import read_ml_settings
from tessera.ml.triggers import due_job
from tessera.projects.models import Project
from tests.support.data_api import job_done, ok, ok_list, project_items
from tests.support.exports import LabeledProject, labeled_project

BACKBONE = "mobilenet_v2-b0353104"
COLOURS = {
    "a.png": (220, 30, 30),
    "b.png": (30, 200, 40),
    "c.png": (30, 40, 210),
    "d.png": (230, 220, 20),
}


@pytest.fixture(scope="module")
def built_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image backbone's ONNX file, built once for this module's tests."""
    return MobileNetV2(tmp_path_factory.mktemp("models")).model_path()


@pytest.fixture
def settings(settings: Settings, built_model: Path) -> Settings:
    """Batches of 2 (so that reading ahead spans batches), one backbone thread, the built model in place."""
    models = settings.data_dir / "models"
    models.mkdir(parents=True)
    try:
        os.link(built_model, models / built_model.name)
    except OSError:
        (models / built_model.name).write_bytes(built_model.read_bytes())
    return settings.model_copy(update={"ml_batch_size": 2, "ml_threads": 1})


def _picture(path: Path, colour: tuple[int, int, int]) -> None:
    image = Image.new("RGB", (48, 32), colour)
    image.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (8, 8, 24, 24))
    image.save(path)


def _project(client: TestClient, db: Database, settings: Settings, name: str) -> LabeledProject:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["warm", "cold"],
        files=dict.fromkeys(COLOURS, (48, 32)), labels={}, name=name,
    )  # fmt: skip
    for file_name, colour in COLOURS.items():  # one colour each
        _picture(made.root / file_name, colour)
    return made


def _featurize(client: TestClient, made: LabeledProject) -> dict[str, Any]:
    started = ok(client.post(f"/api/projects/{made.project_id}/ml/featurize", headers=made.admin), 202)
    assert started["kind"] == "ml.featurize"
    job = job_done(client, made.admin, started["job_id"])
    assert job["status"] == "succeeded", job["error"]
    return dict(job["result"])


def _refresh(client: TestClient, made: LabeledProject) -> dict[str, Any]:
    job = ok(client.post(f"/api/projects/{made.project_id}/data/refresh", headers=made.admin), 202)
    done = job_done(client, made.admin, job["id"])
    assert done["status"] == "succeeded", done["error"]
    return dict(done["result"])


def _due(db: Database, project_id: int) -> str | None:
    with db.read() as session:
        project = session.get_one(Project, project_id)
        return due_job(session, project, read_ml_settings(session, project))


def test_featurizing_embeds_each_item_once_and_skips_what_is_no_image(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = _project(client, db, settings, "Colours")
    first_item = made.item_ids["a.png"]
    refused = client.get(f"/api/items/{first_item}/similar", headers=made.admin)
    assert refused.status_code == 409 and "no embedding" in refused.json()["message"]

    result = _featurize(client, made)
    assert (result["embedded"], result["skipped"], result["already_embedded"]) == (4, 0, 0)
    store = EmbeddingStore.of(settings.data_dir, made.project_id, BACKBONE)
    ids, vectors = store.load()
    assert ids.tolist() == sorted(made.item_ids.values())
    assert vectors.shape == (4, 1280) and np.isfinite(vectors).all()
    assert len({tuple(np.round(v, 3)) for v in vectors}) == 4  # four pictures, four embeddings
    status = ok(client.get(f"/api/projects/{made.project_id}/ml", headers=made.admin))
    assert status["featurized_items"] == 4
    assert _due(db, made.project_id) is None  # no labels yet: nothing more to do

    similar = ok_list(client.get(f"/api/items/{first_item}/similar?k=2", headers=made.admin))
    assert len(similar) == 2 and first_item not in [row["item_id"] for row in similar]
    assert similar[0]["similarity"] >= similar[1]["similarity"]
    assert {row["path"] for row in similar} <= set(COLOURS) - {"a.png"}
    assert len(ok_list(client.get(f"/api/items/{first_item}/similar?k=50", headers=made.admin))) == 3

    # New files: two pictures, bytes that are no image, and one that vanishes before featurizing.
    _picture(made.root / "e.png", (200, 100, 0))
    _picture(made.root / "f.png", (0, 100, 200))
    (made.root / "broken.png").write_bytes(b"these bytes are not a picture at all")
    _picture(made.root / "gone.png", (9, 9, 9))
    assert _refresh(client, made)["items_added"] == 4
    (made.root / "gone.png").unlink()
    items = {item.path: item for item in project_items(db, made.project_id)}
    assert _due(db, made.project_id) == "ml.featurize"

    result = _featurize(client, made)
    assert (result["embedded"], result["skipped"], result["already_embedded"]) == (2, 2, 4)
    reasons = {row["item_id"]: row["reason"] for row in result["skipped_examples"]}
    assert "cannot be decoded" in reasons[items["broken.png"].id]
    assert "cannot be read" in reasons[items["gone.png"].id]
    assert set(store.skipped()) == {items["broken.png"].id, items["gone.png"].id}
    ids, vectors = store.load()
    assert ids.tolist() == sorted([*made.item_ids.values(), items["e.png"].id, items["f.png"].id])
    assert vectors.shape == (6, 1280)
    shards = store.shards()

    health = {item.path: item for item in project_items(db, made.project_id)}
    assert health["broken.png"].health == ItemHealth.broken
    assert "cannot be decoded" in (health["broken.png"].health_reason or "")
    assert health["gone.png"].health == ItemHealth.missing
    assert all(health[name].health == ItemHealth.ok for name in [*COLOURS, "e.png", "f.png"])

    result = _featurize(client, made)  # nothing new: nothing embedded, nothing tried again
    assert (result["embedded"], result["skipped"]) == (0, 0)
    assert store.shards() == shards
    new_item = items["e.png"].id
    assert len(ok_list(client.get(f"/api/items/{new_item}/similar?k=9", headers=made.admin))) == 5
    refused = client.get(f"/api/items/{items['broken.png'].id}/similar", headers=made.admin)
    assert refused.status_code == 409


def test_featurizing_an_image_project_serves_pages_of_similar_pictures_in_page_order(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """Two families of four pictures (reds, blues), pages of 4: featurizing groups them into two pages,
    puts the clustered items first in the queue in page order, and each task the labeler gets is one
    family, served as a clustered task."""
    families = {"red": [(230, 20, 20), (200, 40, 30), (250, 60, 40), (180, 10, 10)]}
    families["blue"] = [(b, g, r) for r, g, b in families["red"]]
    files = {f"{family}{i}.png": (48, 32) for family in families for i in range(4)}
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["warm", "cold"],
        files=files, labels={}, name="Families",
    )  # fmt: skip
    for family, colours in families.items():
        for i, colour in enumerate(colours):
            _picture(made.root / f"{family}{i}.png", colour)
    ok(
        client.put(
            f"/api/projects/{made.project_id}/labeling-settings", json={"page_size": 4}, headers=made.admin
        )
    )
    assert _featurize(client, made)["clustered_pages"] == 2
    with db.read() as session:
        rows = session.execute(
            select(Item.path, Item.cluster_id, ItemOrder.rank)
            .join(ItemOrder, ItemOrder.item_id == Item.id)
            .where(Item.project_id == made.project_id)
            .order_by(ItemOrder.rank)
        ).all()
    assert all(rank < 0 for _, _, rank in rows)  # ahead of every random rank
    assert [cluster for _, cluster, _ in rows] == [0] * 4 + [1] * 4  # page by page
    for page in (0, 1):
        assert len({path[:-5] for path, cluster, _ in rows if cluster == page}) == 1  # one family

    seen = []
    for _ in range(2):
        task = ok(client.post(f"/api/projects/{made.project_id}/tasks/next", json={}, headers=made.labeler))
        assert task["kind"] == "clustered"
        paths = {item["path"] for item in task["items"]}
        assert len(paths) == 4 and len({path[:-5] for path in paths}) == 1
        seen.append(paths)
        answers = [{"item_id": item["id"], "label": {"classes": ["warm"]}} for item in task["items"]]
        ok(client.post(f"/api/tasks/{task['id']}/submit", json={"labels": answers}, headers=made.labeler))
    assert seen[0] | seen[1] == set(files)


def test_a_labeler_cannot_start_featurizing(client: TestClient, db: Database, settings: Settings) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["x", "y"],
        files={"only.png": (16, 16)}, labels={}, name="Locked",
    )  # fmt: skip
    response = client.post(f"/api/projects/{made.project_id}/ml/featurize", headers=made.labeler)
    assert response.status_code == 403
    assert (
        client.get(f"/api/items/{made.item_ids['only.png']}/similar", headers=made.labeler).status_code == 403
    )
    with db.read() as session:
        assert session.scalars(select(Job.id).where(Job.kind.like("ml.%"))).all() == []


def test_a_missing_file_does_not_keep_featurizing_due(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """A file gone before its first embedding: skipped, its item marked missing, and then left alone —
    the scheduler must not start a featurization on every pass for it."""
    made = _project(client, db, settings, "Vanishing")
    (made.root / "d.png").unlink()
    first = _featurize(client, made)
    assert (first["embedded"], first["skipped"]) == (3, 1)
    assert _due(db, made.project_id) is None
    second = _featurize(client, made)
    assert (second["embedded"], second["skipped"]) == (0, 0)
    with db.read() as session:
        assert session.get_one(Item, made.item_ids["d.png"]).health == ItemHealth.missing
    assert _due(db, made.project_id) is None
    status = ok(client.get(f"/api/projects/{made.project_id}/ml", headers=made.admin))
    assert status["featurized_items"] == 4
