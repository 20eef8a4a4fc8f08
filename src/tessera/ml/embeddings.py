"""Embeddings in files, not in the database: per project and backbone, a folder of shards
(`part-000001.npz`, each the item ids and their float16 vectors), written to a temporary name and renamed,
appended to as new items come (featurization is incremental), and `skipped.json` for the items that could
not be read, with the reason. Read back whole, as one matrix, for training, inference and clustering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tessera.core.files import replaced_atomically, write_bytes_atomically

SHARD_GLOB = "part-*.npz"


@dataclass
class EmbeddingStore:
    folder: Path

    @classmethod
    def of(cls, data_dir: Path, project_id: int, backbone_key: str) -> EmbeddingStore:
        return cls(data_dir / "embeddings" / f"project-{project_id}" / backbone_key)

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob(SHARD_GLOB))

    def add(self, item_ids: np.ndarray[Any, Any], vectors: np.ndarray[Any, Any]) -> Path:
        """Write one new shard."""
        if len(item_ids) != len(vectors):
            raise ValueError("one vector per item id")
        self.folder.mkdir(parents=True, exist_ok=True)
        existing = self.shards()
        number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 1
        path = self.folder / f"part-{number:06d}.npz"
        with replaced_atomically(path) as file:
            np.savez(
                file, ids=np.asarray(item_ids, dtype=np.int64), vectors=np.asarray(vectors, dtype=np.float16)
            )
        return path

    def ids(self) -> np.ndarray[Any, Any]:
        parts = []
        for shard in self.shards():
            with np.load(shard) as data:
                parts.append(data["ids"])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def load(
        self, wanted: np.ndarray[Any, Any] | None = None
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(ids, vectors as float32), sorted by id; only the `wanted` ids when given. An item embedded
        twice (a featurization retried after writing) counts once."""
        ids_parts, vector_parts = [], []
        for shard in self.shards():
            with np.load(shard) as data:
                ids, vectors = data["ids"], data["vectors"]
                if wanted is not None:
                    keep = np.isin(ids, wanted)
                    ids, vectors = ids[keep], vectors[keep]
                ids_parts.append(ids)
                vector_parts.append(vectors)
        if not ids_parts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.concatenate(ids_parts)
        vectors = np.concatenate(vector_parts).astype(np.float32)
        ids, first = np.unique(ids, return_index=True)
        return ids, vectors[first]

    def skipped(self) -> dict[int, str]:
        path = self.folder / "skipped.json"
        if not path.exists():
            return {}
        return {int(key): str(value) for key, value in json.loads(path.read_text()).items()}

    def add_skipped(self, reasons: dict[int, str]) -> None:
        if not reasons:
            return
        merged = self.skipped() | reasons
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "skipped.json"
        reasons_json = json.dumps({str(key): value for key, value in sorted(merged.items())})
        write_bytes_atomically(path, reasons_json.encode())


def nearest(
    vectors: np.ndarray[Any, Any], query: np.ndarray[Any, Any], k: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Rows of `vectors` most similar to `query` by cosine similarity: (row indices, similarities)."""
    norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
    similarity = (vectors @ query) / np.maximum(norms, 1e-12)
    k = min(k, len(similarity))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    top = np.argpartition(-similarity, k - 1)[:k]
    top = top[np.argsort(-similarity[top])]
    return top, similarity[top]
