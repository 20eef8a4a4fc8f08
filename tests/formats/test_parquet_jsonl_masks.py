"""Parquet, JSON Lines and PNG-mask exports, read back by their consumers: pandas and pyarrow read the
Parquet with typed columns (nested lists of structs for shapes and spans, PNG bytes for masks), pandas
reads the JSON Lines, PIL decodes the masks to exactly the submitted ones re-mapped to the project's class
indices, pandas reads the masks' CSVs; and the Parquet writer streams in row groups, in flat memory.

Golden files: tests/golden/formats/jsonl/<case>.jsonl and tests/golden/formats/png_masks/{index,classes}.csv,
the exports with the datastore's folder replaced by `<root>`, item ids by `<id:file name>`, splits by
`<split>`, and the lines (after a CSV's header) sorted. After a
deliberate change to a format, check the new output by eye and rewrite them with TESSERA_UPDATE_GOLDEN=1."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats import parquet
from tessera.formats.png_masks import class_lookup, project_mask
from tessera.formats.records import ExportOptions
from tessera.labels.models import Prelabel, PrelabelSource
from tessera.projects.models import LabelClass
from tests.support.exports import LabeledProject, labeled_project, run_export, unzip
from tests.support.streaming import ManyDetections, measure_writer

GOLDEN = Path(__file__).parents[1] / "golden" / "formats"
UPDATE = os.environ.get("TESSERA_UPDATE_GOLDEN") == "1"
LOCAL = [[0, 1, 1, 2], [0, 0, 2, 2], [1, 1, 0, 0]]  # values index the label's own classes: 1 sky, 2 road
PROJECT = [[0, 3, 3, 1], [0, 0, 1, 1], [3, 3, 0, 0]]  # the same in the project's order: road, car, sky


def mask_png(rows: list[list[int]]) -> str:
    output = io.BytesIO()
    Image.fromarray(np.array(rows, dtype=np.uint8)).save(output, format="PNG")
    return base64.b64encode(output.getvalue()).decode("ascii")


def pixels(data: bytes | Path) -> list[list[int]]:
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
        assert image.mode == "L"
        rows: list[list[int]] = np.asarray(image).tolist()
        return rows


def normalized(text: str, made: LabeledProject) -> str:
    """The export's text with what varies between runs replaced — the datastore's folder, item ids and
    the splits drawn from them — and its lines (after a CSV's header) sorted: item ids follow the order
    of the folder's listing."""
    text = text.replace(str(made.root), "<root>")
    text = re.sub(r'"split": "(train|validation)"', '"split": "<split>"', text)
    for name, item_id in made.item_ids.items():
        text = text.replace(f'"item_id": {item_id},', f'"item_id": "<id:{name}>",')
        text = text.replace(f"\n{item_id},", f"\n<id:{name}>,").replace(f"-{item_id}.png", "-<id>.png")
    first, *rest = text.splitlines(keepends=True)
    return first + "".join(sorted(rest)) if first.startswith("item_id,") else "".join(sorted([first, *rest]))


def check_golden(text: str, case: str) -> None:
    golden = GOLDEN / case
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def offer(db: Database, made: LabeledProject, name: str, payload: dict[str, Any], confidence: float) -> None:
    """A model's pre-filled label for the item `name`: `payload` in stored form, "CLASS:<name>" for a class id."""
    with db.write() as session:
        query = select(LabelClass.name, LabelClass.id).where(LabelClass.project_id == made.project_id)
        ids = {str(row[0]): int(row[1]) for row in session.execute(query)}

        def stored(value: Any) -> Any:
            if isinstance(value, dict):
                return {key: stored(entry) for key, entry in value.items()}
            if isinstance(value, list):
                return [stored(entry) for entry in value]
            if isinstance(value, str) and value.startswith("CLASS:"):
                return ids[value.removeprefix("CLASS:")]
            return value

        session.add(
            Prelabel(
                item_id=made.item_ids[name], project_id=made.project_id, payload=stored(payload),
                source=PrelabelSource.model, confidence=confidence,
            )
        )  # fmt: skip


def read_parquet(data: bytes) -> tuple[pa.Table, pd.DataFrame]:
    """The file as pyarrow reads it, and as pandas does, in path order."""
    frame = pd.read_parquet(io.BytesIO(data))
    return pq.read_table(io.BytesIO(data)), frame.sort_values("path").reset_index(drop=True)


def test_parquet_boxes_are_typed_nested_columns_with_the_options(
    client: TestClient, db: Database, settings: Settings
) -> None:
    boxes = [{"class": "car", "x": 10, "y": 5, "width": 20.5, "height": 10}]
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["person", "car"],
        files={"a.png": (40, 20), "b.png": (64, 32)}, labels={"a.png": {"boxes": boxes}},
    )  # fmt: skip
    offer(
        db,
        made,
        "b.png",
        {"boxes": [{"class_id": "CLASS:person", "x": 1, "y": 2, "width": 3, "height": 4}]},
        0.5,
    )
    options = {"items": "all", "validation_share": 0.5, "include_prelabels": True}
    export, data = run_export(client, made.admin, made.project_id, "parquet", options)
    assert export["file_name"].endswith("-parquet.parquet") and data.startswith(b"PAR1")
    table, frame = read_parquet(data)
    box = pa.struct([("class", pa.string()), *((key, pa.float64()) for key in ("x", "y", "width", "height"))])
    assert [(field.name, field.type) for field in table.schema] == [
        ("item_id", pa.int64()), ("path", pa.string()), ("url", pa.string()), ("width", pa.int32()),
        ("height", pa.int32()), ("boxes", pa.list_(box)), ("label_source", pa.string()),
        ("agreement", pa.float64()), ("split", pa.string()), ("prelabel", pa.list_(box)),
        ("prelabel_confidence", pa.float64()),
    ]  # fmt: skip
    assert json.loads(table.schema.metadata[b"tessera"]) == {
        "task_type": "object_detection", "class_names": ["person", "car"],
    }  # fmt: skip
    assert frame.dtypes.astype(str).to_dict() == {
        "item_id": "int64", "path": "object", "url": "object", "width": "int32", "height": "int32",
        "boxes": "object", "label_source": "object", "agreement": "float64", "split": "object",
        "prelabel": "object", "prelabel_confidence": "float64",
    }  # fmt: skip
    first, second = frame.to_dict("records")
    assert (first["item_id"], first["path"], first["url"]) == (
        made.item_ids["a.png"],
        "a.png",
        (made.root / "a.png").as_uri(),
    )
    assert [dict(entry) for entry in first["boxes"]] == [
        {"class": "car", "x": 10.0, "y": 5.0, "width": 20.5, "height": 10.0}
    ]
    assert (first["label_source"], first["prelabel"], np.isnan(first["prelabel_confidence"])) == (
        "single",
        None,
        True,
    )
    assert (second["boxes"], second["label_source"], second["width"]) == (None, None, 64)
    assert [dict(entry) for entry in second["prelabel"]] == [
        {"class": "person", "x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0}
    ]
    assert second["prelabel_confidence"] == 0.5 and {first["split"], second["split"]} <= {
        "train",
        "validation",
    }


def test_parquet_and_jsonl_spans_keep_characters_and_unicode(
    client: TestClient, db: Database, settings: Settings
) -> None:
    text = "Zoë 🐍 visited Zürich."
    spans = [{"start": 0, "end": 3, "class": "PER"}, {"start": 14, "end": 20, "class": "LOC"}]
    made = labeled_project(
        client, db, settings, task_type="text_ner", classes=["PER", "LOC"],
        files={"t.txt": text, "u.txt": "nothing here"}, labels={"t.txt": {"spans": spans}, "u.txt": {"spans": []}},
    )  # fmt: skip
    offer(db, made, "u.txt", {"spans": [{"start": 0, "end": 7, "class_id": "CLASS:LOC"}]}, 0.25)
    _, data = run_export(client, made.admin, made.project_id, "parquet")
    table, frame = read_parquet(data)
    span = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("class", pa.string())])
    assert (
        table.schema.field("spans").type == pa.list_(span) and table.schema.field("text").type == pa.string()
    )
    assert list(frame.columns) == ["item_id", "path", "url", "text", "spans", "label_source", "agreement"]
    assert frame["text"].tolist() == [text, "nothing here"]
    found = [dict(entry) for entry in frame["spans"][0]]
    assert [text[entry["start"] : entry["end"]] for entry in found] == ["Zoë", "Zürich"]
    assert found[1] == {"start": 14, "end": 20, "class": "LOC"} and len(frame["spans"][1]) == 0

    export, lines = run_export(client, made.admin, made.project_id, "jsonl", {"include_prelabels": True})
    assert export["file_name"].endswith("-jsonl.jsonl")
    assert "Zoë 🐍 visited Zürich.".encode() in lines  # UTF-8, not \u escapes
    check_golden(normalized(lines.decode("utf-8"), made), "jsonl/text_ner.jsonl")
    read = pd.read_json(io.BytesIO(lines), lines=True).sort_values("path").reset_index(drop=True)
    assert list(read.columns) == [
        "item_id", "path", "url", "text", "label", "label_source", "agreement", "prelabel", "prelabel_confidence",
    ]  # fmt: skip
    assert read["label"].tolist() == [{"spans": spans}, {"spans": []}]
    assert read["prelabel"][1] == {"spans": [{"start": 0, "end": 7, "class": "LOC"}]}


def test_jsonl_shows_labels_as_the_api_does(client: TestClient, db: Database, settings: Settings) -> None:
    polygon = {"class": "leaf", "points": [[10, 5], [30, 5], [30, 15.5]]}
    made = labeled_project(
        client, db, settings, task_type="instance_segmentation", classes=["stem", "leaf"],
        files={"plant.png": (40, 20), "bare.png": (8, 8)}, labels={"plant.png": {"polygons": [polygon]}},
    )  # fmt: skip
    _, lines = run_export(
        client, made.admin, made.project_id, "jsonl", {"items": "all", "validation_share": 0.5}
    )
    check_golden(normalized(lines.decode("utf-8"), made), "jsonl/instance_segmentation.jsonl")
    read = pd.read_json(io.BytesIO(lines), lines=True, dtype=False)
    labels = read.set_index("path")["label"]
    assert labels["plant.png"] == {"polygons": [polygon]} and pd.isna(labels["bare.png"])  # null: not labeled
    assert set(read["split"]) <= {"train", "validation"}


def test_png_masks_are_remapped_to_the_project_classes(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="semantic_segmentation", classes=["road", "car", "sky"],
        files={"a.png": (4, 3), "b.jpg": (4, 3), "sub/c.png": (4, 3), "d.png": (4, 3)},
        labels={
            "a.png": {"mask_png": mask_png(LOCAL), "classes": ["sky", "road"]},
            "b.jpg": {"mask_png": mask_png([[1] * 4] * 3), "classes": ["car"]},
            "sub/c.png": {"mask_png": mask_png([[0] * 4] * 3), "classes": []},
        },
    )  # fmt: skip
    offer(db, made, "d.png", {"mask_png": mask_png([[1, 0, 0, 0]] * 3), "class_ids": ["CLASS:sky"]}, 0.9)
    options = {"items": "all", "include_prelabels": True}
    export, data = run_export(client, made.admin, made.project_id, "png_masks", options)
    assert export["file_name"].endswith("-png_masks.zip")
    assert unzip(data, tmp_path) == [
        "classes.csv", "index.csv", "masks/a.png", "masks/b.png", "masks/sub/c.png", "prelabels/d.png",
    ]  # fmt: skip
    assert pixels(tmp_path / "masks" / "a.png") == PROJECT
    assert pixels(tmp_path / "masks" / "b.png") == [[2] * 4] * 3
    assert pixels(tmp_path / "masks" / "sub" / "c.png") == [[0] * 4] * 3
    assert pixels(tmp_path / "prelabels" / "d.png") == [[3, 0, 0, 0]] * 3
    index = pd.read_csv(tmp_path / "index.csv", keep_default_na=False).sort_values("path")
    assert index.columns.tolist() == [
        "item_id", "path", "url", "mask", "label_source", "agreement", "prelabel", "prelabel_confidence",
    ]  # fmt: skip
    assert index[["path", "mask", "prelabel"]].values.tolist() == [
        ["a.png", "masks/a.png", ""], ["b.jpg", "masks/b.png", ""], ["d.png", "", "prelabels/d.png"],
        ["sub/c.png", "masks/sub/c.png", ""],
    ]  # fmt: skip
    assert index["item_id"].tolist() == [made.item_ids[path] for path in index["path"]]
    classes = pd.read_csv(tmp_path / "classes.csv")
    assert classes.to_dict("list") == {"index": [1, 2, 3], "name": ["road", "car", "sky"]}
    check_golden(
        normalized((tmp_path / "index.csv").read_text(encoding="utf-8"), made), "png_masks/index.csv"
    )
    check_golden((tmp_path / "classes.csv").read_text(encoding="utf-8"), "png_masks/classes.csv")

    _, data = run_export(client, made.admin, made.project_id, "parquet", options)
    table, frame = read_parquet(data)
    assert table.schema.field("mask_png").type == pa.binary()
    assert table.schema.field("prelabel").type == pa.binary()
    rows = frame.set_index("path")
    assert pixels(rows["mask_png"]["a.png"]) == PROJECT and pixels(rows["mask_png"]["b.jpg"]) == [[2] * 4] * 3
    assert rows["mask_png"]["d.png"] is None and pixels(rows["prelabel"]["d.png"]) == [[3, 0, 0, 0]] * 3


def test_masks_of_paths_that_differ_only_by_suffix_do_not_overwrite_each_other(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="semantic_segmentation", classes=["road", "car"],
        files={"a.png": (2, 1), "a.jpg": (2, 1)},
        labels={
            "a.png": {"mask_png": mask_png([[1, 0]]), "classes": ["road"]},
            "a.jpg": {"mask_png": mask_png([[0, 1]]), "classes": ["car"]},
        },
    )  # fmt: skip
    _, data = run_export(client, made.admin, made.project_id, "png_masks")
    first, second = sorted(made.item_ids, key=made.item_ids.__getitem__)  # the second one gets its id
    collided = f"masks/a-{made.item_ids[second]}.png"
    assert unzip(data, tmp_path) == sorted(["classes.csv", "index.csv", "masks/a.png", collided])
    masks = pd.read_csv(tmp_path / "index.csv").set_index("path")["mask"]
    assert (masks[first], masks[second]) == ("masks/a.png", collided)
    assert pixels(tmp_path / masks["a.png"]) == [[1, 0]] and pixels(tmp_path / masks["a.jpg"]) == [[0, 2]]


def test_a_mask_takes_16_bits_when_a_project_has_more_than_255_classes() -> None:
    names = [f"class {index}" for index in range(1, 301)]
    label = {"mask_png": mask_png([[0, 1], [2, 3]]), "classes": ["class 300", "class 2", None]}
    with Image.open(io.BytesIO(project_mask(label, class_lookup(names)))) as image:
        assert image.mode == "I;16"
        assert np.asarray(image).tolist() == [[0, 300], [2, 0]]  # a deleted class (None) is no class
    with Image.open(io.BytesIO(project_mask(label, class_lookup(names[:255])))) as image:
        assert image.mode == "L" and np.asarray(image).tolist() == [[0, 0], [2, 0]]  # not in the project: 0


def test_the_parquet_writer_streams_row_groups_in_flat_memory(tmp_path: Path) -> None:
    measured = measure_writer(
        parquet.write, ManyDetections(50_000, ExportOptions(validation_share=0.2)), tmp_path
    )
    assert measured.written == 50_000 and measured.reports == list(range(1000, 50_000 + 1, 1000))
    assert measured.peak < 20 * 1024 * 1024 and measured.holding > 4 * measured.peak, measured
