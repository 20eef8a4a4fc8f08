"""COCO JSON, for image classification, object detection, instance and semantic segmentation: one file,
`annotations.json`, written as the records stream (images straight into it, annotations spooled into an
anonymous temporary file in the folder and appended at the end), so memory stays flat at any size.

The file, one entry a line:

    {"info": {"description", "version", "year", "date_created"},
    "licenses": [],
    "categories": [{"id": 1, "name", "supercategory": ""}, ...],   # the project's classes, ids 1..K in order
    "images": [{"id": 1, "file_name": <item path>, "width", "height", "coco_url": <file URL>,
                "tessera_item_id", "tessera_labeled", "split"?}, ...],   # ids 1..N in export order
    "annotations": [{"id": 1, "image_id", "category_id", ...}, ...],
    "tessera_prelabels": [...]?}

Coordinates are image pixels, origin at the top-left corner, fractional values kept as labeled. Per task:

- classification (multi-class and multi-label): one annotation per class of the image, `{"id", "image_id",
  "category_id"}` and nothing else. COCO has no standard for image-level labels; this is the shape of
  Datumaro's `coco_labels` and Microsoft's vision-datasets, and pycocotools indexes it (no bbox, no area).
- object detection: `bbox` [x, y, width, height], `area` width × height, `iscrowd` 0, `segmentation` []
  (as CVAT and Label Studio write it, for readers that index `segmentation` unconditionally).
- instance segmentation: `segmentation` [[x1, y1, x2, y2, ...]] (one polygon per annotation), `bbox` the
  polygon's extent, `area` the polygon's area (shoelace formula, not the pixel count COCO computes).
- semantic segmentation: one annotation per class present in the mask, `segmentation` uncompressed RLE
  `{"counts": [...], "size": [height, width]}` (column-major runs, starting with the zeros), `iscrowd` 1,
  `bbox` the extent of its pixels, `area` its pixel count.

`width`/`height` are null for an image whose size Tessera never read (classification items and unlabeled
items: the size is read when a shape is labeled); a semantic mask gives its image's size. `tessera_labeled`
is false for an item without a label that counts (options items=all): not a background image, just not
labeled. Shapes and mask values of a class deleted from the project since are left out.

Options: validation_share > 0 adds `split` ("train" or "validation") to each image (one file; split it with
the field). include_prelabels adds a top-level `tessera_prelabels` list in the shape of `annotations` with a
`score` (the prelabel's confidence, when it has one): kept out of `annotations` so that no training
pipeline takes them for ground truth; `COCO.loadRes(data["tessera_prelabels"])` reads them as results."""

from __future__ import annotations

import base64
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt
from PIL import Image

from tessera.formats.records import ExportRecord, ExportSource, Tally
from tessera.projects.models import TaskType

FILE_NAME = "annotations.json"

Annotation = dict[str, Any]
Size = tuple[int, int]  # (width, height)


class JsonArray:
    """The items of a JSON array, written one a line as they come: `[`, items, `]`."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.count = 0

    def add(self, entry: Any) -> None:
        self.handle.write(("," if self.count else "") + "\n" + _dumps(entry))
        self.count += 1


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    categories = {name: index for index, name in enumerate(source.class_names, start=1)}
    tally = Tally(progress)
    with (
        (folder / FILE_NAME).open("w", encoding="utf-8") as out,
        tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder) as annotation_spool,
        tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder) as prelabel_spool,
    ):
        out.write('{"info":' + _dumps(_info(source)) + ',\n"licenses":[],\n"categories":[')
        category_array = JsonArray(out)
        for name, category_id in categories.items():
            category_array.add({"id": category_id, "name": name, "supercategory": ""})
        out.write('\n],\n"images":[')
        arrays = (JsonArray(out), JsonArray(annotation_spool), JsonArray(prelabel_spool))
        for record in source.records():
            _add_record(source, record, categories, *arrays)
            tally.add()
        out.write('\n],\n"annotations":[')
        _append(annotation_spool, out)
        if source.options.include_prelabels:
            out.write('\n],\n"tessera_prelabels":[')
            _append(prelabel_spool, out)
        out.write("\n]}\n")
    return tally.count


def _add_record(
    source: ExportSource,
    record: ExportRecord,
    categories: dict[str, int],
    images: JsonArray,
    annotations: JsonArray,
    prelabels: JsonArray,
) -> None:
    found, size = _shapes(source.task_type, record.label, categories, _known_size(record))
    offered: list[Annotation] = []
    if source.options.include_prelabels and record.prelabel is not None:
        offered, size = _shapes(source.task_type, record.prelabel, categories, size)
    image_id = images.count + 1
    images.add({"id": image_id, **_image(record, size, split=source.options.validation_share > 0)})
    for annotation in found:
        annotations.add({"id": annotations.count + 1, "image_id": image_id, **annotation})
    confidence = record.prelabel_confidence
    score = {} if confidence is None else {"score": confidence}
    for annotation in offered:
        prelabels.add({"id": prelabels.count + 1, "image_id": image_id, **annotation, **score})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _append(spool: TextIO, out: TextIO) -> None:
    spool.seek(0)
    shutil.copyfileobj(spool, out)


def _info(source: ExportSource) -> dict[str, Any]:
    when = source.snapshot_at
    return {
        "description": f"{source.project.name} ({source.task_type.value}), exported from Tessera",
        "version": "1.0",
        "year": when.year if when else None,
        "date_created": when.isoformat() if when else None,
    }


def _known_size(record: ExportRecord) -> Size | None:
    return (record.width, record.height) if record.width and record.height else None


def _image(record: ExportRecord, size: Size | None, *, split: bool) -> dict[str, Any]:
    image: dict[str, Any] = {
        "file_name": record.path,
        "width": size[0] if size else None,
        "height": size[1] if size else None,
        "coco_url": record.url,
        "tessera_item_id": record.item_id,
        "tessera_labeled": record.label is not None,
    }
    if split:
        image["split"] = record.split
    return image


def _shapes(
    task_type: TaskType, label: dict[str, Any] | None, categories: dict[str, int], size: Size | None
) -> tuple[list[Annotation], Size | None]:
    """The label's annotations (without ids) and the image's size (a mask tells it when unknown)."""
    if label is None:
        return [], size
    if task_type == TaskType.object_detection:
        return [_box(box, categories[box["class"]]) for box in _known(label["boxes"], categories)], size
    if task_type == TaskType.instance_segmentation:
        polygons = _known(label["polygons"], categories)
        return [_polygon(polygon, categories[polygon["class"]]) for polygon in polygons], size
    if task_type == TaskType.semantic_segmentation:
        indices = _decode_mask(label["mask_png"])
        height, width = indices.shape
        return list(_mask_annotations(indices, label["classes"], categories)), (width, height)
    names = [name for name in label["classes"] if name in categories]
    return [{"category_id": categories[name]} for name in names], size


def _known(shapes: list[dict[str, Any]], categories: dict[str, int]) -> list[dict[str, Any]]:
    """The shapes whose class is still in the project."""
    return [shape for shape in shapes if shape["class"] in categories]


def _number(value: float) -> float | int:
    """A computed coordinate or area: an int when whole, else rounded to 6 decimals."""
    return int(value) if float(value).is_integer() else round(float(value), 6)


def _box(box: dict[str, Any], category_id: int) -> Annotation:
    x, y, width, height = box["x"], box["y"], box["width"], box["height"]
    return {
        "category_id": category_id,
        "bbox": [x, y, width, height],
        "area": _number(width * height),
        "iscrowd": 0,
        "segmentation": [],
    }


def _polygon(polygon: dict[str, Any], category_id: int) -> Annotation:
    points = polygon["points"]
    xs = np.array([point[0] for point in points], dtype=np.float64)
    ys = np.array([point[1] for point in points], dtype=np.float64)
    left, top = min(point[0] for point in points), min(point[1] for point in points)
    right, bottom = max(point[0] for point in points), max(point[1] for point in points)
    area = abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))) / 2
    return {
        "category_id": category_id,
        "segmentation": [[value for point in points for value in point]],
        "bbox": [left, top, _number(right - left), _number(bottom - top)],
        "area": _number(area),
        "iscrowd": 0,
    }


def _decode_mask(mask_png: str) -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(base64.b64decode(mask_png)), formats=["PNG"]) as image:
        return np.asarray(image, dtype=np.uint8)


def _mask_annotations(
    indices: npt.NDArray[np.uint8], classes: list[str | None], categories: dict[str, int]
) -> Iterator[Annotation]:
    """One crowd annotation per class with pixels: value k ≥ 1 of the mask means classes[k-1]."""
    height, width = indices.shape
    column_major = np.ascontiguousarray(indices.T).ravel()  # COCO's RLE runs down the columns
    for value, name in enumerate(classes, start=1):
        if name not in categories:
            continue
        hit = column_major == value
        area = int(np.count_nonzero(hit))
        if not area:
            continue
        grid = hit.reshape(width, height)  # [column, row]
        columns, rows = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
        left, top = int(columns[0]), int(rows[0])
        yield {
            "category_id": categories[name],
            "segmentation": {"counts": rle_counts(hit), "size": [height, width]},
            "bbox": [left, top, int(columns[-1]) - left + 1, int(rows[-1]) - top + 1],
            "area": area,
            "iscrowd": 1,
        }


def rle_counts(flat: npt.NDArray[np.bool_]) -> list[int]:
    """COCO's uncompressed RLE of a column-major run of pixels: run lengths alternating between 0s and
    1s, the first one a run of 0s (of length 0 when the first pixel is set)."""
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    counts: list[int] = np.diff(bounds).tolist()
    return [0, *counts] if flat.size and flat[0] else counts
