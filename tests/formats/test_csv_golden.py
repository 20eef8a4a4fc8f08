"""The CSV export against golden files, for the label shapes it writes: a class (multi-class), a JSON list
(multi-label), and a JSON object of shapes (boxes; spans with the text), with items=all —
compared exactly after the datastore folder and the item ids are named, not numbered. Golden files are
rewritten with TESSERA_UPDATE_GOLDEN=1 (look at the diff before committing it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.exports import labeled_project, run_export

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "formats" / "csv"
UPDATE_GOLDEN = os.environ.get("TESSERA_UPDATE_GOLDEN") == "1"
BOX = {"class": "car", "x": 1.5, "y": 2, "width": 10, "height": 4.25}
CASES: dict[str, dict[str, Any]] = {
    "multiclass": {
        "task_type": "image_classification_multiclass", "classes": ["cat", "dog"],
        "files": {"a.png": (8, 8), "b.png": (8, 8), "c d.png": (8, 8)},
        "labels": {"a.png": {"classes": ["cat"]}, "c d.png": {"classes": ["dog"]}},
    },
    "multilabel": {
        "task_type": "image_classification_multilabel", "classes": ["red", "round"],
        "files": {"a.png": (8, 8), "b.png": (8, 8)}, "labels": {"a.png": {"classes": ["red", "round"]}},
    },
    "boxes": {
        "task_type": "object_detection", "classes": ["car"], "files": {"a.png": (20, 20), "b.png": (20, 20)},
        "labels": {"a.png": {"boxes": [BOX]}, "b.png": {"boxes": []}},
    },
    "spans": {
        "task_type": "text_ner", "classes": ["place"], "files": {"a.txt": 'Paris, "la ville"\nlumière', "b.txt": "x"},
        "labels": {"a.txt": {"spans": [{"start": 0, "end": 5, "class": "place"}]}},
    },
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_csv_export_matches_its_golden_file(
    client: TestClient, db: Database, settings: Settings, case: str
) -> None:
    spec = CASES[case]
    made = labeled_project(client, db, settings, name=f"Golden {case}", **spec)
    _, data = run_export(client, made.admin, made.project_id, "csv", {"items": "all"})
    text = data.decode("utf-8").replace(made.root.as_uri(), "file:///datastore")
    for name, item_id in sorted(made.item_ids.items(), key=lambda entry: -entry[1]):
        text = text.replace(f"\r\n{item_id},", f"\r\n<{name}>,")
    path = GOLDEN / f"{case}.csv"
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"no golden file {path}: run with TESSERA_UPDATE_GOLDEN=1 and look at it"
    assert text == path.read_bytes().decode("utf-8"), f"the CSV export differs from {path}"
