"""Inference after a training round: the head predicts every unlabeled item that is in no task and has no
label yet; predictions at or above the round's threshold become prelabels (the queue's prelabeled tasks),
older model prelabels of such items are replaced, and — with active learning on — the rest of the queue is
ordered by uncertainty mixed with cluster coverage (ml/clustering.diverse_order). One transaction writes
it all: labelers see the old round's prelabels or the new round's, never half of each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.db.session import Database
from tessera.items.models import Item, ItemHealth, ItemOrder, ItemState
from tessera.labels.models import Prelabel, PrelabelSource
from tessera.ml.clustering import diverse_order, kmeans_groups, uncertainty_of
from tessera.ml.embeddings import EmbeddingStore
from tessera.ml.heads import Head, normalize, predictions
from tessera.projects.models import Project

CHUNK = 500  # ids per IN list (SQLite allows 32,766 variables; small chunks keep statements cheap)


@dataclass
class InferenceReport:
    predicted: int = 0
    prelabeled: int = 0
    reordered: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"predicted": self.predicted, "prelabeled": self.prelabeled, "reordered": self.reordered}


def chunks(values: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def open_candidates(session: Session, project_id: int) -> list[int]:
    """Unlabeled items in no task, with no label yet, whose data is usable: what a model may pre-label."""
    return list(
        session.scalars(
            select(Item.id)
            .where(
                Item.project_id == project_id,
                Item.state == ItemState.unlabeled,
                Item.label_count == 0,
                Item.claim_count == 0,
                Item.health == ItemHealth.ok,
            )
            .order_by(Item.id)
        ).all()
    )


def run_inference(
    database: Database,
    project: Project,
    store: EmbeddingStore,
    head: Head,
    *,
    version: int,
    threshold: float | None,
    active_learning: bool,
    multilabel: bool,
) -> InferenceReport:
    report = InferenceReport()
    with database.read() as session:
        candidates = open_candidates(session, project.id)
    ids, vectors = store.load(np.array(candidates, dtype=np.int64))
    probabilities = head.probabilities(vectors) if len(ids) else np.zeros((0, len(head.classes)))
    predicted, confidence = predictions(probabilities, multilabel=multilabel)
    report.predicted = len(ids)
    confident: np.ndarray[Any, Any]
    if threshold is None:
        confident = np.zeros(len(ids), dtype=bool)
    else:
        confident = confidence >= threshold
        if multilabel:
            confident &= predicted.sum(axis=1) > 0
    offers = [
        (int(ids[i]), _payload(predicted[i], head.classes, multilabel), float(confidence[i]))
        for i in np.flatnonzero(confident)
    ]
    rest = np.flatnonzero(~confident)
    order: list[int] = []
    if active_learning and len(rest):
        uncertainty = uncertainty_of(probabilities[rest], multilabel=multilabel)
        groups = kmeans_groups(normalize(vectors[rest]), max(1, int(np.sqrt(len(rest)))))
        order = [int(ids[rest][i]) for i in diverse_order(uncertainty, groups)]
    with database.write() as session:
        still_open = set(open_candidates(session, project.id))  # labelers went on while the model ran
        report.prelabeled = _replace_prelabels(session, project.id, still_open, offers, version)
        if active_learning:
            report.reordered = put_first(session, project.id, [i for i in order if i in still_open])
    return report


def _payload(row: np.ndarray[Any, Any], classes: list[int], multilabel: bool) -> dict[str, Any]:
    if multilabel:
        return {"classes": sorted(classes[c] for c in np.flatnonzero(row))}
    return {"classes": [classes[int(row)]]}


def _replace_prelabels(
    session: Session,
    project_id: int,
    still_open: set[int],
    offers: list[tuple[int, dict[str, Any], float]],
    version: int,
) -> int:
    """Drop the model prelabels of the open items, offer the new ones (never over an imported or earlier
    label offered as a default), and keep `items.prelabeled` in step."""
    stale = list(
        session.scalars(
            select(Prelabel.item_id).where(
                Prelabel.project_id == project_id, Prelabel.source == PrelabelSource.model
            )
        ).all()
    )
    stale = [item_id for item_id in stale if item_id in still_open]
    for chunk in chunks(stale):
        session.execute(delete(Prelabel).where(Prelabel.item_id.in_(chunk)))
        session.execute(
            update(Item).where(Item.id.in_(chunk)).values(prelabeled=False, version=Item.version + 1)
        )
    others = set(
        session.scalars(
            select(Prelabel.item_id).where(
                Prelabel.project_id == project_id, Prelabel.source != PrelabelSource.model
            )
        ).all()
    )
    kept = [offer for offer in offers if offer[0] in still_open and offer[0] not in others]
    if kept:
        session.execute(
            insert(Prelabel),
            [
                {
                    "item_id": item_id,
                    "project_id": project_id,
                    "payload": payload,
                    "source": PrelabelSource.model,
                    "confidence": confidence,
                    "model_version": version,
                    "created_at": clock.now(),
                }
                for item_id, payload, confidence in kept
            ],
        )
        for chunk in chunks([item_id for item_id, _, _ in kept]):
            session.execute(
                update(Item).where(Item.id.in_(chunk)).values(prelabeled=True, version=Item.version + 1)
            )
    return len(kept)


def put_first(session: Session, project_id: int, ordered: list[int]) -> int:
    """Put `ordered` first in the labeling order, in that order (negative ranks come before every random
    rank); items reordered by an earlier round and not in this one go back to their random rank."""
    restore_shuffled_order(session, project_id)
    for chunk in chunks(ordered):
        session.execute(
            delete(ItemOrder).where(ItemOrder.project_id == project_id, ItemOrder.item_id.in_(chunk))
        )
    if ordered:
        start = -len(ordered)
        session.execute(
            insert(ItemOrder),
            [
                {"project_id": project_id, "rank": start + i, "item_id": item_id}
                for i, item_id in enumerate(ordered)
            ],
        )
    return len(ordered)


def restore_shuffled_order(session: Session, project_id: int) -> int:
    """Every item an active-learning order moved goes back to its random rank (active learning turned
    off, or a new round)."""
    moved = session.execute(
        select(ItemOrder.item_id, Item.rank)
        .join(Item, Item.id == ItemOrder.item_id)
        .where(ItemOrder.project_id == project_id, ItemOrder.rank < 0)
    ).all()
    if not moved:
        return 0
    for chunk in chunks([item_id for item_id, _ in moved]):
        session.execute(
            delete(ItemOrder).where(ItemOrder.project_id == project_id, ItemOrder.item_id.in_(chunk))
        )
    session.execute(
        insert(ItemOrder),
        [{"project_id": project_id, "rank": rank, "item_id": item_id} for item_id, rank in moved],
    )
    return len(moved)


def order_by_pages(session: Session, project_id: int) -> int:
    """The queue's order without a model to order it: the open clustered items first, page by page in
    their pages' order (ml/clustering.page_clusters numbers them so), the rest in the random order."""
    ordered = session.scalars(
        select(Item.id)
        .where(Item.project_id == project_id, Item.state == ItemState.unlabeled, Item.cluster_id.is_not(None))
        .order_by(Item.cluster_id, Item.rank)
    ).all()
    return put_first(session, project_id, list(ordered))


def clear_clusters(session: Session, project_id: int) -> None:
    session.execute(
        update(Item)
        .where(Item.project_id == project_id, Item.cluster_id.is_not(None))
        .values(cluster_id=None)
    )


def write_clusters(
    session: Session, project_id: int, item_ids: Sequence[int], pages: np.ndarray[Any, Any]
) -> None:
    """Replace the project's cluster ids with `pages` (one per item id), in the caller's transaction."""
    clear_clusters(session, project_id)
    rows = [
        {"id": int(item_id), "cluster_id": int(page)}
        for item_id, page in zip(item_ids, pages.tolist(), strict=True)
    ]
    if rows:
        session.execute(update(Item), rows)  # an UPDATE by primary key, executed for many rows
