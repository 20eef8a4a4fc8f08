"""MLTable, for every task type: a zip of an `MLTable` file and `labeled.jsonl` next to it, in the layout
of Azure Machine Learning's labeled datasets and AutoML's JSONL schema, so that `mltable.load(folder)`
reads it and an AutoML job takes the folder as its training data. One JSON object per item, streamed:

Image projects — `image_url`: the file's URL (file:// URLs unescaped: mltable reads them literally);
`image_details`: `{"format": the file's suffix, "width", "height"}`; `label` and `label_confidence`
(1.0: every label that counts is a person's):
- multi-class: the class name; 1.0. Multi-label: the list of names; a list of 1.0, one per name.
- object detection: a list of `{"label", "topX", "topY", "bottomX", "bottomY", "isCrowd": 0}`, the
  corners divided by the image's width and height (0–1); a list of 1.0, one per box.
- instance segmentation: a list of `{"label", "isCrowd": 0, "polygon": [[x1, y1, x2, y2, ...]]}` (one
  segment per object, coordinates divided by the width and height); a list of 1.0, one per polygon.
- semantic segmentation: the path of the item's mask in the zip, `masks/<path>.png`, a PNG of project
  class indices listed in `classes.csv` (as the png_masks format writes them); 1.0.
Text projects — `text`, and `label`: the class name (multi-class), the list of names (multi-label), or
for named entities a list of `{"start", "end", "label"}`: character offsets (Unicode code points) into
`text`, end exclusive. No `label_confidence` there: AutoML NLP would read it as a feature.

An item without a label that counts (items=all) has null `label` and `label_confidence`. With
`validation_share` > 0 each line has `split` (train or validation); with `include_prelabels`, `prelabel`
(in the same form as `label`; masks under `prelabels/`) and `prelabel_confidence`. Boxes and polygons
need the image's size: an image whose size was never read fails the export, naming the item.

The MLTable reads the JSON Lines as UTF-8 and, for images on local folders or https:// storage, turns
`image_url` into a stream (`stream_info`) that opens the file; s3://, gs:// and az:// URLs, which mltable
cannot open, stay strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from tessera.formats.png_masks import MASKS, PRELABELS, class_lookup, write_classes, write_mask
from tessera.formats.records import ExportRecord, ExportSource, Tally
from tessera.projects.models import TaskType

TABLE_FILE = "MLTable"
DATA_FILE = "labeled.jsonl"
STREAMABLE = ("file://", "https://")  # the URL schemes mltable's stream_info opens
HUMAN = 1.0  # the confidence of a person's label

READ_JSON_LINES = f"""paths:
  - file: ./{DATA_FILE}
transformations:
  - read_json_lines:
      encoding: utf8
      invalid_lines: error
      include_path_column: false
"""
STREAM_IMAGES = """  - convert_column_types:
      - columns: image_url
        column_type: stream_info
"""


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    task_type = source.task_type
    lookup = class_lookup(source.class_names)
    if task_type == TaskType.semantic_segmentation:
        write_classes(folder, source.class_names)
    streams, tally = task_type.media == "image", Tally(progress)
    with (folder / DATA_FILE).open("w", encoding="utf-8", newline="\n") as handle:
        for record in source.records():
            value = _line(record, source, folder, lookup)
            streams = streams and str(value["image_url"]).startswith(STREAMABLE)
            handle.write(json.dumps(value, ensure_ascii=False, allow_nan=False) + "\n")
            tally.add()
    (folder / TABLE_FILE).write_text(READ_JSON_LINES + (STREAM_IMAGES if streams else ""), encoding="utf-8")
    return tally.count


def image_url(url: str) -> str:
    """The URL as mltable opens it: file:// URLs with their path unescaped, others as they are."""
    return unquote(url) if url.startswith("file://") else url


def _line(
    record: ExportRecord, source: ExportSource, folder: Path, lookup: Mapping[str, int]
) -> dict[str, Any]:
    task_type, options = source.task_type, source.options
    value: dict[str, Any]
    if task_type.media == "text":
        value = {"text": record.text, "label": _label(task_type, record, record.label, folder, lookup, MASKS)}
    else:
        suffix = PurePosixPath(record.path).suffix.lower().lstrip(".")
        details = {"format": suffix or None, "width": record.width, "height": record.height}
        label = _label(task_type, record, record.label, folder, lookup, MASKS)
        value = {"image_url": image_url(record.url), "image_details": details, "label": label}
        value["label_confidence"] = _confidence(label)
    if options.validation_share > 0:
        value["split"] = record.split
    if options.include_prelabels:
        value["prelabel"] = _label(task_type, record, record.prelabel, folder, lookup, PRELABELS)
        value["prelabel_confidence"] = record.prelabel_confidence
    return value


def _label(
    task_type: TaskType,
    record: ExportRecord,
    label: Mapping[str, Any] | None,
    folder: Path,
    lookup: Mapping[str, int],
    root: str,
) -> Any:
    """A label (as the API shows it) in the labeled-dataset form of its task type; None for none."""
    if label is None:
        return None
    if task_type.value.endswith("multiclass"):
        return label["classes"][0] if label.get("classes") else None
    if task_type.value.endswith("multilabel"):
        return list(label.get("classes", []))
    if task_type == TaskType.text_ner:
        spans = label.get("spans", [])
        return [{"start": span["start"], "end": span["end"], "label": span["class"]} for span in spans]
    if task_type == TaskType.semantic_segmentation:
        return write_mask(folder, record, label, lookup, root)
    width, height = _size(record)
    if task_type == TaskType.object_detection:
        return [_box(box, width, height) for box in label.get("boxes", [])]
    return [_polygon(polygon, width, height) for polygon in label.get("polygons", [])]


def _confidence(label: Any) -> Any:
    if label is None:
        return None
    return [HUMAN] * len(label) if isinstance(label, list) else HUMAN


def _size(record: ExportRecord) -> tuple[float, float]:
    if not record.width or not record.height:
        raise ValueError(
            f"item {record.item_id} ({record.path}): the image's size is unknown (its file could not be "
            "read), so its shapes cannot be normalized to 0-1; the jsonl and csv formats keep them in pixels"
        )
    return float(record.width), float(record.height)


def _box(box: Mapping[str, Any], width: float, height: float) -> dict[str, Any]:
    x, y = float(box["x"]), float(box["y"])
    return {
        "label": box["class"],
        "topX": x / width,
        "topY": y / height,
        "bottomX": (x + float(box["width"])) / width,
        "bottomY": (y + float(box["height"])) / height,
        "isCrowd": 0,
    }


def _polygon(polygon: Mapping[str, Any], width: float, height: float) -> dict[str, Any]:
    flat = [coordinate for x, y in polygon["points"] for coordinate in (x / width, y / height)]
    return {"label": polygon["class"], "isCrowd": 0, "polygon": [flat]}
