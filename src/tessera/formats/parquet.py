"""Parquet, for every task type: `labels.parquet`, a row per item, written through pyarrow's ParquetWriter
in row groups of ROW_GROUP items (fewer when masks fill MAX_GROUP_BYTES first), so memory stays flat at
any size. Typed columns, in this order:

- `item_id` int64, `path` string, `url` string;
- `text` string (text projects) or `width`, `height` int32 (image projects; null when never read);
- the label, by task type: `label` string (multi-class); `labels` list<string> (multi-label);
  `boxes` list<struct<class: string, x, y, width, height: double>> in pixels (object detection);
  `polygons` list<struct<class: string, points: list<list<double>>>>, points as [x, y] in pixels
  (instance segmentation); `mask_png` binary, a PNG of project class indices — pixel k ≥ 1 is the
  project's k-th class, 0 none, re-mapped as the png_masks format does (semantic segmentation);
  `spans` list<struct<start, end: int64, class: string>>, character offsets (code points), end exclusive
  (named entities). Null when the item has no label that counts (items=all);
- `label_source` string, `agreement` double;
- with `validation_share` > 0, `split` string; with `include_prelabels`, `prelabel` (the label column's
  type) and `prelabel_confidence` double.

The file's metadata key `tessera` holds JSON: `{"task_type", "class_names"}` (the project's classes in
order: mask pixel value k is class_names[k-1]). pandas gives list columns as arrays of strings or of
dicts, `mask_png` as bytes (open with PIL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from tessera.formats.png_masks import class_lookup, project_mask
from tessera.formats.records import ExportRecord, ExportSource, Tally
from tessera.projects.models import TaskType

FILE_NAME = "labels.parquet"
ROW_GROUP = 10_000  # items per row group
MAX_GROUP_BYTES = 64 * 1024 * 1024  # of mask PNGs held before a row group is written early

LABEL_COLUMNS: dict[TaskType, tuple[str, Any]] = {
    TaskType.image_classification_multiclass: ("label", pa.string()),
    TaskType.text_classification_multiclass: ("label", pa.string()),
    TaskType.image_classification_multilabel: ("labels", pa.list_(pa.string())),
    TaskType.text_classification_multilabel: ("labels", pa.list_(pa.string())),
    TaskType.object_detection: (
        "boxes",
        pa.list_(
            pa.struct(
                [("class", pa.string())] + [(key, pa.float64()) for key in ("x", "y", "width", "height")]
            )
        ),
    ),
    TaskType.instance_segmentation: (
        "polygons",
        pa.list_(pa.struct([("class", pa.string()), ("points", pa.list_(pa.list_(pa.float64())))])),
    ),
    TaskType.semantic_segmentation: ("mask_png", pa.binary()),
    TaskType.text_ner: (
        "spans",
        pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()), ("class", pa.string())])),
    ),
}


def schema(source: ExportSource) -> Any:
    """The file's schema: its columns for the source's task type and options, and its metadata."""
    task_type, options = source.task_type, source.options
    fields: list[tuple[str, Any]] = [("item_id", pa.int64()), ("path", pa.string()), ("url", pa.string())]
    if task_type.media == "text":
        fields.append(("text", pa.string()))
    else:
        fields += [("width", pa.int32()), ("height", pa.int32())]
    name, label_type = LABEL_COLUMNS[task_type]
    fields += [(name, label_type), ("label_source", pa.string()), ("agreement", pa.float64())]
    if options.validation_share > 0:
        fields.append(("split", pa.string()))
    if options.include_prelabels:
        fields += [("prelabel", label_type), ("prelabel_confidence", pa.float64())]
    about = {"task_type": task_type.value, "class_names": source.class_names}
    return pa.schema(fields, metadata={"tessera": json.dumps(about, ensure_ascii=False)})


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    layout = schema(source)
    lookup = class_lookup(source.class_names)
    columns: dict[str, list[Any]] = {name: [] for name in layout.names}
    held = 0
    tally = Tally(progress)
    with pq.ParquetWriter(folder / FILE_NAME, layout) as out:
        for record in source.records():
            for name, value in _row(record, source, lookup).items():
                columns[name].append(value)
                held += len(value) if isinstance(value, bytes) else 0
            if len(columns["item_id"]) >= ROW_GROUP or held >= MAX_GROUP_BYTES:
                _flush(out, layout, columns)
                held = 0
            tally.add()
        if columns["item_id"]:
            _flush(out, layout, columns)
    return tally.count


def _flush(out: Any, layout: Any, columns: dict[str, list[Any]]) -> None:
    """Write the held rows as one row group and let them go."""
    out.write_table(pa.Table.from_pydict(columns, schema=layout), row_group_size=ROW_GROUP)
    for values in columns.values():
        values.clear()


def _row(record: ExportRecord, source: ExportSource, lookup: Mapping[str, int]) -> dict[str, Any]:
    task_type, options = source.task_type, source.options
    row: dict[str, Any] = {"item_id": record.item_id, "path": record.path, "url": record.url}
    if task_type.media == "text":
        row["text"] = record.text
    else:
        row |= {"width": record.width, "height": record.height}
    row[LABEL_COLUMNS[task_type][0]] = label_value(task_type, record.label, lookup)
    row |= {"label_source": record.label_source, "agreement": record.agreement}
    if options.validation_share > 0:
        row["split"] = record.split
    if options.include_prelabels:
        row["prelabel"] = label_value(task_type, record.prelabel, lookup)
        row["prelabel_confidence"] = record.prelabel_confidence
    return row


def label_value(task_type: TaskType, label: Mapping[str, Any] | None, lookup: Mapping[str, int]) -> Any:
    """A label (as the API shows it) as its column holds it."""
    if label is None:
        return None
    if task_type.value.endswith("multiclass"):
        return label["classes"][0] if label.get("classes") else None
    if task_type.value.endswith("multilabel"):
        return label.get("classes", [])
    if task_type == TaskType.semantic_segmentation:
        return project_mask(label, lookup)
    return label.get(LABEL_COLUMNS[task_type][0], [])  # boxes, polygons, spans: the payload's own key
