"""Find similar items: the nearest neighbours of an item in its project's embedding space (cosine)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.core.errors import Conflict
from tessera.core.settings import Settings
from tessera.items.models import Item, ItemState
from tessera.ml.embeddings import nearest
from tessera.ml.featurize import project_store
from tessera.projects.models import Project

MAX_SIMILAR = 100


def similar_items(
    session: Session, settings: Settings, project: Project, item: Item, k: int
) -> list[dict[str, Any]]:
    """The `k` items most like `item` (itself left out), most similar first; 409 when it has no
    embedding yet."""
    store = project_store(project, settings)
    ids, vectors = store.load()
    where = np.flatnonzero(ids == item.id)
    if not len(where):
        raise Conflict(f"item {item.id} has no embedding yet: featurization has not reached it")
    rows, scores = nearest(vectors, vectors[where[0]], min(k, MAX_SIMILAR) + 1)
    found = [(int(ids[r]), float(s)) for r, s in zip(rows, scores, strict=True) if ids[r] != item.id][:k]
    shown = {
        row.id: row
        for row in session.execute(
            select(Item.id, Item.path, Item.text, Item.state).where(
                Item.id.in_([i for i, _ in found]), Item.state != ItemState.removed
            )
        ).all()
    }
    return [
        {
            "item_id": i,
            "similarity": round(s, 5),
            "path": shown[i].path,
            "text": shown[i].text,
            "state": shown[i].state.value,
        }
        for i, s in found
        if i in shown
    ]
