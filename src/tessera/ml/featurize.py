"""Featurization: embed every item of a project once per backbone, incrementally — only the items whose
embedding is not stored yet (nor recorded as unreadable). Images are read and decoded by a pool of threads
while the backbone runs on the previous batch (Pillow and ONNX Runtime both release the GIL), so the
backbone is kept busy; a file that is gone or is no image is skipped with its reason and its item marked,
as the media routes mark it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from tessera.core.errors import TesseraError
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.media import item_datastore, mark_item_health
from tessera.ingest.service import open_datastore
from tessera.items.models import Item, ItemHealth, ItemState
from tessera.ml.backbones import Backbone, backbone_for, preprocess_image
from tessera.ml.embeddings import EmbeddingStore
from tessera.projects.models import Project

log = logging.getLogger(__name__)
SHARD_ITEMS = 4096  # embeddings per file
READ_THREADS = 4


@dataclass
class FeaturizeReport:
    embedded: int = 0
    skipped: dict[int, str] = field(default_factory=dict)
    already: int = 0
    seconds: float = 0.0  # reading, decoding and embedding, from the first item to the last file written

    def as_dict(self) -> dict[str, Any]:
        reasons = list(self.skipped.items())[:20]
        return {
            "embedded": self.embedded,
            "skipped": len(self.skipped),
            "already_embedded": self.already,
            "seconds": round(self.seconds, 3),
            "items_per_s": round((self.embedded + len(self.skipped)) / self.seconds, 2)
            if self.seconds
            else None,
            "skipped_examples": [{"item_id": item, "reason": reason} for item, reason in reasons],
        }


def project_backbone(project: Project, settings: Settings) -> Backbone:
    return backbone_for(
        project.media,
        models_dir=settings.data_dir / "models",
        device=settings.ml_device,
        threads=settings.ml_threads,
    )


def project_store(project: Project, settings: Settings) -> EmbeddingStore:
    """Where the project's embeddings by its backbone are kept."""
    return EmbeddingStore.of(settings.data_dir, project.id, project_backbone(project, settings).key)


def items_to_embed(
    database: Database, project: Project, store: EmbeddingStore, only: Sequence[int] | None = None
) -> tuple[dict[int, str], int]:
    """(the paths by id of the project's usable items with no stored embedding and not skipped before,
    how many have one)."""
    done = set(store.ids().tolist()) | set(store.skipped())
    query = select(Item.id, Item.path).where(
        Item.project_id == project.id, Item.state != ItemState.removed, Item.health != ItemHealth.missing
    )
    if only is not None:
        query = query.where(Item.id.in_(only))
    with database.read() as session:
        rows = session.execute(query.order_by(Item.id)).all()
    wanted = {item_id: path for item_id, path in rows if item_id not in done}
    return wanted, len(rows) - len(wanted)


def featurize_project(
    database: Database,
    settings: Settings,
    project: Project,
    *,
    only: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FeaturizeReport:
    """Embed the project's items that have no embedding yet (only those of `only` when given)."""
    backbone = project_backbone(project, settings)
    store = project_store(project, settings)
    wanted, already = items_to_embed(database, project, store, only)
    report = FeaturizeReport(already=already)
    total = len(wanted)
    started = time.perf_counter()
    pending_ids: list[int] = []
    pending_vectors: list[np.ndarray[Any, Any]] = []
    batches = _image_batches if project.media == "image" else _text_batches
    for ids, vectors, skipped in batches(database, settings, project, wanted, backbone):
        report.skipped.update(skipped)
        if len(ids):
            pending_ids.extend(ids)
            pending_vectors.append(vectors)
            report.embedded += len(ids)
        if len(pending_ids) >= SHARD_ITEMS:
            store.add(np.array(pending_ids), np.concatenate(pending_vectors))
            pending_ids, pending_vectors = [], []
        if progress is not None:
            progress(report.embedded + len(report.skipped), total)
    if pending_ids:
        store.add(np.array(pending_ids), np.concatenate(pending_vectors))
    store.add_skipped(report.skipped)
    report.seconds = time.perf_counter() - started
    return report


Batch = tuple[list[int], np.ndarray[Any, Any], dict[int, str]]


def _text_batches(
    database: Database, settings: Settings, project: Project, wanted: dict[int, str], backbone: Backbone
) -> Iterator[Batch]:
    size = settings.ml_batch_size
    ids = list(wanted)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        with database.read() as session:
            rows = session.execute(
                select(Item.id, Item.text).where(Item.id.in_(chunk)).order_by(Item.id)
            ).all()
        yield [row.id for row in rows], backbone.embed([row.text or "" for row in rows]), {}


def _image_batches(
    database: Database, settings: Settings, project: Project, wanted: dict[int, str], backbone: Backbone
) -> Iterator[Batch]:
    """Batches of embeddings, the next batch's files read and decoded while the backbone runs."""
    with database.read() as session:
        first = session.scalar(select(Item).where(Item.project_id == project.id).limit(1))
        row = item_datastore(session, first) if first is not None else None
        if row is None:
            return
        store = open_datastore(row, settings)

    def load(item_id: int) -> tuple[int, np.ndarray[Any, Any] | None, str | None, ItemHealth | None]:
        try:
            with store.open(wanted[item_id]) as handle:
                data = handle.read()
        except (TesseraError, OSError) as error:
            return item_id, None, f"the file cannot be read: {error}", ItemHealth.missing
        try:
            return item_id, preprocess_image(data), None, None
        except ValueError as error:
            return item_id, None, str(error), ItemHealth.broken

    size = settings.ml_batch_size
    order = list(wanted)
    chunks = [order[start : start + size] for start in range(0, len(order), size)]
    with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="tessera-featurize") as pool:
        ahead: list[list[Future[Any]]] = [[pool.submit(load, i) for i in chunk] for chunk in chunks[:2]]
        for index in range(len(chunks)):
            if index + 2 < len(chunks):  # keep two batches decoding ahead of the backbone
                ahead.append([pool.submit(load, i) for i in chunks[index + 2]])
            results = [future.result() for future in ahead[index]]
            ahead[index] = []
            ids = [item_id for item_id, pixels, _, _ in results if pixels is not None]
            skipped: dict[int, str] = {}
            for item_id, pixels, reason, health in results:
                if pixels is None and reason is not None and health is not None:
                    skipped[item_id] = reason
                    mark_item_health(database, item_id, health, reason)
            vectors = (
                backbone.embed(np.stack([p for _, p, _, _ in results if p is not None]))
                if ids
                else np.zeros((0, backbone.dimensions), np.float32)
            )
            yield ids, vectors, skipped
