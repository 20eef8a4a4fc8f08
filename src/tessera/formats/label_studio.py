"""Label Studio JSON, for every task type: `tasks.json`, a JSON array of tasks streamed one per line, and
`label_config.xml`, the labeling config they match, so that a project created with that config imports
the tasks as they are (delivered together as a zip).

A task: `{"id": item id (Label Studio gives imported tasks ids of its own), "data": {"image": URL} or
{"text": text}, plus "path", "row_index" (rows of .csv/.jsonl files) and, with validation_share > 0,
"split"; "annotations": [{"result": [...]}] (empty: not labeled); with include_prelabels "predictions":
[{"model_version": "tessera-prelabel", "score"?, "result": [...]}]}`. Every result has
`id` (a1, a2... in an annotation, p1... in a prediction), `from_name` "label", `to_name` "image" or "text",
`type` and `value`; shapes on images also `original_width`, `original_height` and `image_rotation` 0:

- classification: `choices` (`<Choices choice="single-radio">` or `"multiple"`);
- boxes: `rectanglelabels`, x, y, width, height in percent of the image (value × 100 / image size);
- polygons: `polygonlabels`, points in percent, closed;
- masks: `brushlabels`, one result per class present, `{"format": "rle", "rle": [bytes]}` in Label Studio's
  own RLE (`brush_rle`): the mask as RGBA pixels, row by row, 255 in all four channels where the class is;
- named entities: `labels`, start, end (Python string offsets = code points: Label Studio's editor stores
  code points, its `fixCodePointsInRange`), the span's text.

A shape of a class since deleted is left out (no <Label> could take it). Percentages need the image's
size: a label with boxes or polygons on an image whose size is unknown (its file unreadable) fails the
export, naming the item; such a prelabel is left out of `predictions`. Image URLs are the items' URLs as
they are: Label Studio loads https:// ones directly, s3:// and gs:// ones when its project has the bucket
as source storage; file:// ones need its local-files storage instead."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from tessera.core.errors import Invalid
from tessera.formats.records import ExportRecord, ExportSource, Tally
from tessera.projects.models import TaskType

TASKS_FILE = "tasks.json"
CONFIG_FILE = "label_config.xml"
FROM_NAME = "label"
PRELABEL_MODEL = "tessera-prelabel"

CONTROLS = {
    TaskType.image_classification_multiclass: "Choices",
    TaskType.image_classification_multilabel: "Choices",
    TaskType.text_classification_multiclass: "Choices",
    TaskType.text_classification_multilabel: "Choices",
    TaskType.object_detection: "RectangleLabels",
    TaskType.instance_segmentation: "PolygonLabels",
    TaskType.semantic_segmentation: "BrushLabels",
    TaskType.text_ner: "Labels",
}

# Label Studio's brush RLE (the @thi.ng/rle-pack bit stream): a 32-bit value count, the word size less
# one (5 bits), four run-length field sizes less one (4 bits each); then per run a repeat flag (1), the
# index of its length field (2), the length less one, the value (8 bits); zero bits up to a whole byte.
RLE_SIZES = (3, 4, 8, 16)
WORD_BITS = 8
MAX_RUN = 1 << RLE_SIZES[-1]
RUN_LIMITS = np.array([1 << size for size in RLE_SIZES], dtype=np.int64)  # the longest run each field holds
FIELD_BITS = np.array(RLE_SIZES, dtype=np.int64)
RUNS_PER_BATCH = 1 << 16  # runs turned into bits at a time: memory stays flat on noisy masks


def label_config(task_type: TaskType, class_names: list[str]) -> str:
    """The labeling config XML that the tasks' results match."""
    media = task_type.media
    view = ET.Element("View")
    ET.SubElement(view, "Image" if media == "image" else "Text", name=media, value=f"${media}")
    control = ET.SubElement(view, CONTROLS[task_type], name=FROM_NAME, toName=media)
    if control.tag == "Choices":
        control.set("choice", "multiple" if task_type.value.endswith("multilabel") else "single-radio")
    for name in class_names:
        ET.SubElement(control, "Choice" if control.tag == "Choices" else "Label", value=name)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    task_type = source.task_type
    (folder / CONFIG_FILE).write_text(label_config(task_type, source.class_names), encoding="utf-8")
    tally = Tally(progress)
    with (folder / TASKS_FILE).open("w", encoding="utf-8") as handle:
        handle.write("[")
        for record in source.records():
            handle.write(",\n" if tally.count else "\n")
            handle.write(json.dumps(_task(record, source), ensure_ascii=False, separators=(",", ":")))
            tally.add()
        handle.write("\n]\n")
    return tally.count


class SizeUnknown(Invalid):
    """Shapes on an image whose size is unknown: their percentages cannot be worked out."""


def _task(record: ExportRecord, source: ExportSource) -> dict[str, Any]:
    media = source.task_type.media
    data: dict[str, Any] = {media: record.url if media == "image" else record.text or ""}
    data["path"] = record.path
    if record.row_index:
        data["row_index"] = record.row_index  # .csv and .jsonl rows share their file's path
    if record.split is not None:
        data["split"] = record.split
    annotations = [{"result": _results(record, record.label, "a", source)}] if record.label else []
    task: dict[str, Any] = {"id": record.item_id, "data": data, "annotations": annotations}
    if source.options.include_prelabels:
        task["predictions"] = []
        try:
            offered = _results(record, record.prelabel, "p", source) if record.prelabel else None
        except SizeUnknown:
            offered = None  # an unreadable image, never labeled: a prediction is not worth failing for
        if offered is not None:
            prediction: dict[str, Any] = {"model_version": PRELABEL_MODEL}
            if record.prelabel_confidence is not None:
                prediction["score"] = record.prelabel_confidence
            task["predictions"].append({**prediction, "result": offered})
    return task


def _results(record: ExportRecord, label: dict[str, Any], prefix: str, source: ExportSource) -> list[Any]:
    media = source.task_type.media
    values, size = _values(source.task_type, label, record)
    results: list[dict[str, Any]] = []
    for kind, value in values:
        result: dict[str, Any] = {"id": f"{prefix}{len(results) + 1}", "from_name": FROM_NAME}
        result.update(to_name=media, type=kind, value=value)
        if size is not None:
            result.update(original_width=size[0], original_height=size[1], image_rotation=0)
        results.append(result)
    return results


def _values(
    task_type: TaskType, label: dict[str, Any], record: ExportRecord
) -> tuple[list[tuple[str, Any]], tuple[int, int] | None]:
    """(result type, value) of each result of the label, and the image's size for shapes on it."""
    if CONTROLS[task_type] == "Choices":
        chosen = [name for name in label.get("classes", []) if name is not None]
        return [("choices", {"choices": chosen})] if chosen else [], None
    if task_type == TaskType.text_ner:
        text = record.text or ""
        return [
            ("labels", {"start": span["start"], "end": span["end"], "text": text[span["start"] : span["end"]],
                        "labels": [span["class"]]})
            for span in label.get("spans", []) if span.get("class") is not None
        ], None  # fmt: skip
    if task_type == TaskType.semantic_segmentation:
        return _brush_values(label)
    key = "boxes" if task_type == TaskType.object_detection else "polygons"
    shapes = [shape for shape in label.get(key, []) if shape.get("class") is not None]
    if not shapes:
        return [], None
    width, height = _image_size(record)
    if key == "boxes":
        return [
            ("rectanglelabels", {"x": box["x"] * 100 / width, "y": box["y"] * 100 / height,
                                 "width": box["width"] * 100 / width, "height": box["height"] * 100 / height,
                                 "rotation": 0, "rectanglelabels": [box["class"]]})
            for box in shapes
        ], (width, height)  # fmt: skip
    return [
        ("polygonlabels", {"points": [[x * 100 / width, y * 100 / height] for x, y in polygon["points"]],
                           "closed": True, "polygonlabels": [polygon["class"]]})
        for polygon in shapes
    ], (width, height)  # fmt: skip


def _image_size(record: ExportRecord) -> tuple[int, int]:
    if not record.width or not record.height:
        raise SizeUnknown(
            f"item {record.path!r} (id {record.item_id}) has shapes but its image's size is unknown "
            "(its file could not be read); Label Studio's shapes are in percent of it",
            field="path",
        )
    return record.width, record.height


def _brush_values(label: dict[str, Any]) -> tuple[list[tuple[str, Any]], tuple[int, int]]:
    """A result per class present in the mask; the mask's size is its image's."""
    with Image.open(io.BytesIO(base64.b64decode(label["mask_png"]))) as image:
        indices = np.asarray(image, dtype=np.uint8)
    values: list[tuple[str, Any]] = []
    for value, name in enumerate(label.get("classes", []), start=1):
        mask = indices == value
        if name is not None and mask.any():
            values.append(("brushlabels", {"format": "rle", "rle": brush_rle(mask), "brushlabels": [name]}))
    return values, (indices.shape[1], indices.shape[0])


def brush_rle(mask: npt.NDArray[np.bool_]) -> list[int]:
    """Label Studio's RLE of a height×width mask: its RGBA pixels row by row, 255 where the mask is set."""
    flat = mask.ravel()
    starts = np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1))
    lengths = np.diff(np.append(starts, flat.size)) * 4  # four channels a pixel
    values = flat[starts].astype(np.int64) * 255
    pieces = -(-lengths // MAX_RUN)  # runs longer than a length field holds go in several pieces
    run_values = np.repeat(values, pieces)
    run_lengths = np.full(run_values.size, MAX_RUN, dtype=np.int64)
    run_lengths[np.cumsum(pieces) - 1] = lengths - (pieces - 1) * MAX_RUN
    header_values = [flat.size * 4, WORD_BITS - 1, *(size - 1 for size in RLE_SIZES)]
    header_widths = [32, 5, *([4] * len(RLE_SIZES))]
    out = bytearray()
    pending = _bits(np.array(header_values, dtype=np.int64), np.array(header_widths, dtype=np.int64))
    for first in range(0, run_values.size, RUNS_PER_BATCH):
        batch = slice(first, first + RUNS_PER_BATCH)
        bits = np.concatenate([pending, _run_bits(run_lengths[batch], run_values[batch])])
        whole = bits.size - bits.size % 8
        out += np.packbits(bits[:whole]).tobytes()
        pending = bits[whole:]
    out += np.packbits(pending).tobytes()  # the last bits, padded with zeros to a byte
    return list(out)


def _run_bits(lengths: npt.NDArray[np.int64], values: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """The runs as bits: each a repeat flag, the index of its length field, its length less one, its value."""
    size_index = np.searchsorted(RUN_LIMITS, lengths)  # the smallest length field that holds the length
    fields = np.stack([np.ones_like(lengths), size_index, lengths - 1, values], axis=1)
    widths = np.stack(
        [
            np.ones_like(lengths),
            np.full_like(lengths, 2),
            FIELD_BITS[size_index],
            np.full_like(lengths, WORD_BITS),
        ],
        axis=1,
    )
    return _bits(fields.ravel(), widths.ravel())


def _bits(values: npt.NDArray[np.int64], widths: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Each value as its width of bits, most significant first, one after the other."""
    ends = np.cumsum(widths)
    position = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - widths, widths)
    shifts = np.repeat(widths, widths) - 1 - position
    return ((np.repeat(values, widths) >> shifts) & 1).astype(np.uint8)
