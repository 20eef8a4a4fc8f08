"""Round trips: a project's labels exported by Tessera's own writers (COCO, MLTable, CSV, JSON Lines,
CoNLL, Label Studio) import into a fresh project over the same files as the very same labels — boxes and
polygons through percentages and fractions, masks through RLE, spans through tokens."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats.import_formats import IMPORT_FORMATS
from tessera.formats.registry import EXPORT_FORMATS
from tessera.projects.models import TaskType
from tests.formats.test_imports import labels_by_path, post_import
from tests.support.data_api import ok
from tests.support.exports import labeled_project, run_export
from tests.support.labeling import assert_counters_match_a_recount

IMAGES: dict[str, tuple[int, int] | str] = {"a.png": (40, 30), "b.png": (40, 30), "sub/c.png": (30, 7)}
NER_TEXT = "👋 Hi Ana, welcome to Tōkyō!\nBye 👨🏻‍🚒 Bob."


def _mask() -> str:
    indices = np.zeros((30, 40), dtype=np.uint8)
    indices[5:15, 4:20] = 1
    indices[20:28, 25:38] = 2
    output = io.BytesIO()
    Image.fromarray(indices).save(output, format="PNG")
    return base64.b64encode(output.getvalue()).decode("ascii")


def _span(part: str, name: str) -> dict[str, Any]:
    start = NER_TEXT.index(part)
    return {"start": start, "end": start + len(part), "class": name}


CASES: dict[str, tuple[dict[str, tuple[int, int] | str], dict[str, dict[str, Any]]]] = {
    "image_classification_multiclass": (IMAGES, {"a.png": {"classes": ["cat"]}, "sub/c.png": {"classes": ["dog"]}}),
    "image_classification_multilabel": (IMAGES, {"a.png": {"classes": ["cat", "dog"]}}),  # stored in class order
    "object_detection": (IMAGES, {
        "a.png": {"boxes": [{"class": "cat", "x": 10, "y": 6, "width": 20, "height": 12},
                            {"class": "dog", "x": 1.5, "y": 0, "width": 3, "height": 30}]},
        "sub/c.png": {"boxes": [{"class": "dog", "x": 1, "y": 1, "width": 10, "height": 3}]},
        "b.png": {"boxes": []},
    }),
    "instance_segmentation": (IMAGES, {
        "a.png": {"polygons": [{"class": "dog", "points": [[4, 3], [36, 3], [20, 27]]},
                               {"class": "cat", "points": [[1, 1], [9, 1], [9, 7.25], [1, 7]]}]},
    }),
    "semantic_segmentation": (IMAGES, {"a.png": {"mask_png": _mask(), "classes": ["cat", "dog"]}}),
    "text_classification_multiclass": (
        {"a.txt": "Ça va 🙂", "b.txt": "Not labeled", "c.txt": "Bof"},
        {"a.txt": {"classes": ["dog"]}, "c.txt": {"classes": ["cat"]}},
    ),
    "text_classification_multilabel": (
        {"a.txt": "Ça va 🙂", "b.txt": "Not labeled"}, {"a.txt": {"classes": ["cat", "dog"]}},
    ),
    "text_ner": (
        {"a.txt": NER_TEXT, "b.txt": "Not labeled", "c.txt": "Nothing here."},
        {"a.txt": {"spans": [_span("Ana", "cat"), _span("Tōkyō", "dog"), _span("Bob", "cat")]},
         "c.txt": {"spans": []}},
    ),
}  # fmt: skip

ROUND_TRIPS = [
    (fmt, task_type)
    for fmt in IMPORT_FORMATS
    for task_type in CASES
    if TaskType(task_type) in IMPORT_FORMATS[fmt].task_types
    and fmt in EXPORT_FORMATS
    and TaskType(task_type) in EXPORT_FORMATS[fmt].task_types
]


@pytest.mark.parametrize(("fmt", "task_type"), ROUND_TRIPS)
def test_an_export_imports_back_as_the_same_labels(
    client: TestClient, db: Database, settings: Settings, fmt: str, task_type: str
) -> None:
    pytest.importorskip(
        f"tessera.formats.{EXPORT_FORMATS[fmt].module}", reason=f"the {fmt} writer is not written yet"
    )
    files, labels = CASES[task_type]
    if fmt == "conll":  # CoNLL cannot say "no entity": a document of only O tags is not written
        labels = {path: label for path, label in labels.items() if label != {"spans": []}}
    short = task_type.replace("_classification", "").replace("_segmentation", "")
    source = labeled_project(
        client, db, settings, task_type=task_type, classes=["cat", "dog"], files=files, labels=labels,
        name=f"From {fmt} {short}",
    )  # fmt: skip
    _, data = run_export(client, source.admin, source.project_id, fmt)
    target = labeled_project(
        client, db, settings, task_type=task_type, classes=["cat", "dog"], files=files, labels={},
        name=f"To {fmt} {short}",
    )  # fmt: skip
    report = ok(post_import(client, target, data, fmt))
    assert (report["imported"], report["unmatched"], report["ambiguous"]) == (len(labels), [], [])
    assert labels_by_path(db, target.project_id) == labels_by_path(db, source.project_id) == labels
    assert_counters_match_a_recount(db, target.project_id)
