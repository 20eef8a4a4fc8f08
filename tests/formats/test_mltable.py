"""MLTable exports, read back by `mltable.load(folder).to_pandas_dataframe()` as Azure ML would: images
as streams that open the right file (spaces and accents in names included), labels in the labeled-dataset
layout with boxes and polygons normalized to exact fractions, masks re-mapped to the project's classes,
NER spans by character. Each case's `labeled.jsonl` is checked against its golden file
(tests/golden/formats/mltable/<case>.jsonl) once the datastore's folder is replaced by `<root>` and splits
by `<split>`, its lines sorted (item ids, hence the export's order, follow the folder's listing; the data
frames are put in path order too). TESSERA_UPDATE_GOLDEN=1 rewrites the goldens (read the diff before
keeping it)."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import Any

import mltable  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item
from tests.support.data_api import job_done, ok
from tests.support.exports import LabeledProject, labeled_project, run_export, unzip

GOLDEN = Path(__file__).parents[1] / "golden" / "formats" / "mltable"
UPDATE = os.environ.get("TESSERA_UPDATE_GOLDEN") == "1"
STREAMS = """  - convert_column_types:
      - columns: image_url
        column_type: stream_info
"""


def mask_png(rows: list[list[int]]) -> str:
    output = io.BytesIO()
    Image.fromarray(np.array(rows, dtype=np.uint8)).save(output, format="PNG")
    return base64.b64encode(output.getvalue()).decode("ascii")


def plain(value: Any) -> Any:
    """A value from the data frame in plain Python: arrays as lists, numpy numbers as floats, NaN as None."""
    if isinstance(value, np.ndarray | list):
        return [plain(entry) for entry in value]
    if isinstance(value, dict):
        return {key: plain(entry) for key, entry in value.items()}
    if isinstance(value, np.floating | float):
        return None if np.isnan(value) else float(value)
    return value


def export_table(
    client: TestClient, made: LabeledProject, into: Path, case: str, options: dict[str, Any] | None = None
) -> tuple[Path, pd.DataFrame]:
    """Export as MLTable, unzip, check `labeled.jsonl` against the case's golden file, and load the
    table with mltable."""
    export, data = run_export(client, made.admin, made.project_id, "mltable", options)
    assert export["file_name"].endswith("-mltable.zip")
    folder = into / case
    names = unzip(data, folder)
    assert {"MLTable", "labeled.jsonl"} <= set(names)
    lines = (folder / "labeled.jsonl").read_text(encoding="utf-8").replace(str(made.root), "<root>")
    lines = re.sub(r'"split": "(train|validation)"', '"split": "<split>"', lines)  # drawn from item ids
    normalized = "".join(sorted(lines.splitlines(keepends=True)))  # item-id order varies with the listing
    golden = GOLDEN / f"{case}.jsonl"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(normalized, encoding="utf-8")
    assert normalized == golden.read_text(encoding="utf-8")
    frame = mltable.load(str(folder)).to_pandas_dataframe()
    in_id_order = sorted(made.item_ids, key=made.item_ids.__getitem__)  # the export's order: every item
    assert len(frame) == len(in_id_order)
    return folder, frame.iloc[sorted(range(len(frame)), key=in_id_order.__getitem__)].reset_index(drop=True)


def assert_streams(frame: pd.DataFrame, made: LabeledProject, sizes: dict[str, tuple[int, int]]) -> None:
    """Each row's image_url is a local stream of the item's file, which opens as that image."""
    assert len(frame) == len(sizes)
    for stream, (name, size) in zip(frame["image_url"], sizes.items(), strict=True):
        assert (stream.handler, stream.resource_id) == ("Local", str(made.root / name))
        with stream.open() as handle, Image.open(handle) as image:
            assert image.size == size


def image_rows(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(plain(row[column]) for column in columns) for _, row in frame.iterrows()]


def test_image_multiclass_with_unlabeled_items_and_a_split(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    files: dict[str, tuple[int, int] | str] = {"a.png": (40, 30), "b c.png": (20, 10), "sub/é.png": (8, 8)}
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"], files=files,
        labels={"a.png": {"classes": ["cat"]}, "b c.png": {"classes": ["dog"]}},
    )  # fmt: skip
    options = {"items": "all", "validation_share": 0.5, "seed": 3}
    folder, frame = export_table(client, made, tmp_path, "image_multiclass", options)
    assert (folder / "MLTable").read_text(encoding="utf-8").endswith(STREAMS)
    assert list(frame.columns) == ["image_url", "image_details", "label", "label_confidence", "split"]
    assert_streams(frame, made, {"a.png": (40, 30), "b c.png": (20, 10), "sub/é.png": (8, 8)})
    assert image_rows(frame, "image_details", "label", "label_confidence") == [
        ({"format": "png", "width": 40, "height": 30}, "cat", 1.0),
        ({"format": "png", "width": 20, "height": 10}, "dog", 1.0),
        ({"format": "png", "width": 8, "height": 8}, None, None),  # not labeled (items=all)
    ]
    assert set(frame["split"]) <= {"train", "validation"}


def test_image_multilabel(client: TestClient, db: Database, settings: Settings, tmp_path: Path) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multilabel", classes=["cat", "dog", "cow"],
        files={"a.jpg": (16, 8), "b.png": (8, 16)},
        labels={"a.jpg": {"classes": ["dog", "cat"]}, "b.png": {"classes": ["cow"]}},
    )  # fmt: skip
    _, frame = export_table(client, made, tmp_path, "image_multilabel")
    assert_streams(frame, made, {"a.jpg": (16, 8), "b.png": (8, 16)})
    assert image_rows(frame, "image_details", "label", "label_confidence") == [
        ({"format": "jpg", "width": 16, "height": 8}, ["cat", "dog"], [1.0, 1.0]),  # the project's order
        ({"format": "png", "width": 8, "height": 16}, ["cow"], [1.0]),
    ]


def test_object_detection_boxes_are_normalized_corners(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    boxes = [
        {"class": "car", "x": 10, "y": 5, "width": 20, "height": 10},
        {"class": "person", "x": 0, "y": 0, "width": 40, "height": 20},
    ]
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["person", "car"],
        files={"a.png": (40, 20), "b.png": (64, 32)},
        labels={"a.png": {"boxes": boxes}, "b.png": {"boxes": []}},
    )  # fmt: skip
    folder, frame = export_table(client, made, tmp_path, "object_detection")
    assert (folder / "MLTable").read_text(encoding="utf-8").endswith(STREAMS)
    assert_streams(frame, made, {"a.png": (40, 20), "b.png": (64, 32)})
    [car, person] = plain(frame["label"][0])
    assert car == {"label": "car", "topX": 0.25, "topY": 0.25, "bottomX": 0.75, "bottomY": 0.75, "isCrowd": 0}
    assert person == {
        "label": "person",
        "topX": 0.0,
        "topY": 0.0,
        "bottomX": 1.0,
        "bottomY": 1.0,
        "isCrowd": 0,
    }
    assert plain(frame["label_confidence"][0]) == [1.0, 1.0]
    assert image_rows(frame, "image_details", "label", "label_confidence")[1] == (
        {"format": "png", "width": 64, "height": 32}, [], [],  # nothing to mark is a label too
    )  # fmt: skip


def test_instance_segmentation_polygons_are_flat_normalized_lists(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    triangle = {"class": "leaf", "points": [[10, 5], [30, 5], [30, 15]]}
    square = {"class": "stem", "points": [[0, 0], [4, 0], [4, 2], [0, 2]]}
    made = labeled_project(
        client, db, settings, task_type="instance_segmentation", classes=["stem", "leaf"],
        files={"plant.png": (40, 20)}, labels={"plant.png": {"polygons": [triangle, square]}},
    )  # fmt: skip
    _, frame = export_table(client, made, tmp_path, "instance_segmentation")
    assert_streams(frame, made, {"plant.png": (40, 20)})
    assert plain(frame["label"][0]) == [
        {"label": "leaf", "isCrowd": 0, "polygon": [[0.25, 0.25, 0.75, 0.25, 0.75, 0.75]]},
        {"label": "stem", "isCrowd": 0, "polygon": [[0.0, 0.0, 0.1, 0.0, 0.1, 0.1, 0.0, 0.1]]},
    ]
    assert plain(frame["label_confidence"][0]) == [1.0, 1.0]


def test_semantic_segmentation_labels_are_mask_files_in_project_indices(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    local = [[0, 1, 1, 2], [0, 0, 2, 2], [1, 1, 0, 0]]  # 1: sky, 2: road, in the label's own order
    made = labeled_project(
        client, db, settings, task_type="semantic_segmentation", classes=["road", "car", "sky"],
        files={"street.png": (4, 3)}, labels={"street.png": {"mask_png": mask_png(local), "classes": ["sky", "road"]}},
    )  # fmt: skip
    folder, frame = export_table(client, made, tmp_path, "semantic_segmentation")
    assert_streams(frame, made, {"street.png": (4, 3)})
    assert image_rows(frame, "label", "label_confidence") == [("masks/street.png", 1.0)]
    with Image.open(folder / "masks" / "street.png") as mask:
        assert mask.mode == "L"
        assert np.asarray(mask).tolist() == [[0, 3, 3, 1], [0, 0, 1, 1], [3, 3, 0, 0]]
    assert pd.read_csv(folder / "classes.csv").to_dict("list") == {
        "index": [1, 2, 3], "name": ["road", "car", "sky"],
    }  # fmt: skip


def test_text_classification(client: TestClient, db: Database, settings: Settings, tmp_path: Path) -> None:
    made = labeled_project(
        client, db, settings, task_type="text_classification_multiclass", classes=["spam", "ham"],
        files={"1.txt": "Win a prize — now!", "2.txt": "Lunch at noon?"},
        labels={"1.txt": {"classes": ["spam"]}, "2.txt": {"classes": ["ham"]}},
    )  # fmt: skip
    folder, frame = export_table(client, made, tmp_path, "text_classification")
    assert "stream_info" not in (folder / "MLTable").read_text(encoding="utf-8")
    assert frame.to_dict("records") == [
        {"text": "Win a prize — now!", "label": "spam"},
        {"text": "Lunch at noon?", "label": "ham"},
    ]


def test_named_entities_are_character_spans(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    text = "Zoë 🐍 visited Zürich with Ana."
    spans = [
        {"start": 0, "end": 3, "class": "PER"},
        {"start": 14, "end": 20, "class": "LOC"},
        {"start": 26, "end": 29, "class": "PER"},
    ]
    made = labeled_project(
        client, db, settings, task_type="text_ner", classes=["PER", "LOC"], files={"t.txt": text},
        labels={"t.txt": {"spans": spans}},
    )  # fmt: skip
    _, frame = export_table(client, made, tmp_path, "text_ner")
    [row] = frame.to_dict("records")
    assert row["text"] == text
    label = plain(row["label"])
    assert label == [
        {"start": 0, "end": 3, "label": "PER"},
        {"start": 14, "end": 20, "label": "LOC"},
        {"start": 26, "end": 29, "label": "PER"},
    ]
    assert [text[span["start"] : span["end"]] for span in label] == ["Zoë", "Zürich", "Ana"]


def test_shapes_on_an_image_of_unknown_size_fail_the_export_naming_the_item(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["car"], files={"a.png": (40, 20)},
        labels={"a.png": {"boxes": [{"class": "car", "x": 1, "y": 1, "width": 4, "height": 4}]}},
    )  # fmt: skip
    with db.write() as session:  # the size was never stored, and the file can no longer be read
        session.execute(
            update(Item).where(Item.project_id == made.project_id).values(width=None, height=None)
        )
    (made.root / "a.png").write_bytes(b"not a PNG any more")
    url = f"/api/projects/{made.project_id}/exports"
    started = ok(client.post(url, json={"format": "mltable"}, headers=made.admin), 202)
    assert job_done(client, made.admin, started["job_id"])["status"] == "failed"
    export = ok(client.get(f"/api/exports/{started['id']}", headers=made.admin))
    assert export["state"] == "failed"
    assert f"item {made.item_ids['a.png']} (a.png): the image's size is unknown" in export["message"]
