"""Inference's writes: predictions at or above the threshold become model prelabels (and `prelabeled`),
replacing the last round's (a round without a threshold withdraws them); active learning puts the open
items first."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item, ItemOrder
from tessera.labels.models import Prelabel, PrelabelSource
from tessera.ml.embeddings import EmbeddingStore
from tessera.ml.heads import Head
from tessera.ml.inference import run_inference
from tessera.projects.models import Project
from tests.support.labeling import make_team


def _offers(db: Database, project_id: int) -> dict[int, tuple[list[int], int | None]]:
    with db.read() as session:
        rows = session.execute(
            select(Prelabel.item_id, Prelabel.payload, Prelabel.model_version).where(
                Prelabel.project_id == project_id, Prelabel.source == PrelabelSource.model
            )
        ).all()
        flagged = set(session.scalars(select(Item.id).where(Item.project_id == project_id, Item.prelabeled)))
    assert flagged == {row.item_id for row in rows}
    return {row.item_id: (row.payload["classes"], row.model_version) for row in rows}


def test_prelabels_follow_the_threshold_of_the_newest_round(db: Database, settings: Settings) -> None:
    team = make_team(db, items=4, labelers=1)
    with db.read() as session:
        project = session.get_one(Project, team.project_id)
        class_ids = [c.id for c in project.label_classes]
        session.expunge(project)
    store = EmbeddingStore(settings.data_dir / "embeddings-test")
    vectors = np.array([[9.0, 0, 0], [0, 9.0, 0], [1.0, 1.0, 1.0], [0, 0, 9.0]], dtype=np.float32)
    store.add(np.array(team.item_ids), vectors)
    head = Head(class_ids, np.eye(3, dtype=np.float32) * 8, np.zeros(3, dtype=np.float32), multilabel=False)

    def infer(version: int, threshold: float | None) -> None:
        run_inference(
            db, project, store, head, version=version, threshold=threshold, active_learning=True,
            multilabel=False,
        )  # fmt: skip

    infer(1, 0.9)  # the third item is a toss-up between three classes: no prelabel
    first, second, unsure, fourth = team.item_ids
    assert _offers(db, team.project_id) == {
        first: ([class_ids[0]], 1),
        second: ([class_ids[1]], 1),
        fourth: ([class_ids[2]], 1),
    }
    with db.read() as session:  # active learning: the item it was unsure of comes first
        ranks = dict(session.execute(select(ItemOrder.item_id, ItemOrder.rank)).all())
    assert ranks[unsure] < 0 and min(ranks, key=lambda item: ranks[item]) == unsure

    infer(2, 0.99)  # a stricter round replaces them with its own
    assert {item: version for item, (_, version) in _offers(db, team.project_id).items()} == {
        first: 2,
        second: 2,
        fourth: 2,
    }
    infer(3, None)  # no threshold this round: no prelabels, the earlier ones withdrawn
    assert _offers(db, team.project_id) == {}
