"""Import reader for MLTable: Azure Machine Learning's labeled-dataset JSON Lines, alone or in the zip of
an export (its one .jsonl file). One record a line: `image_url` — or, text projects, `text` (matched
against the items' texts) — and `label`: a class name, a list of names, for named entities a list of
`{"start", "end", "label"}` (character offsets), or a list of regions with coordinates as fractions of
the image's size: boxes
`{"label", "topX", "topY", "bottomX", "bottomY"}`, polygons `{"label", "polygon": [[x1, y1, x2, y2, ...]]}`;
`image_details` `{"width", "height"}` ("640px" or 640) is used when the image's own size cannot be read;
`label_confidence` makes the prelabel's confidence (the lowest)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tessera.core.errors import Invalid
from tessera.formats.import_records import (
    ImportRecord,
    ParsedFile,
    Payload,
    ReadOptions,
    Reference,
    decode_text,
    load_json,
    lowest,
    need,
    number,
    numbered_lines,
    pixels,
    zipped_file,
)
from tessera.labels.payload import LabelContext, describe
from tessera.projects.models import TaskType

CLASSES = ("multiclass", "multilabel")
_SHAPES = {TaskType.object_detection: "boxes", TaskType.instance_segmentation: "polygons"}


def read_mltable(data: bytes, task_type: TaskType, _options: ReadOptions) -> ParsedFile:
    parsed = ParsedFile()
    lines = zipped_file(data, parsed, ".jsonl")
    text = decode_text(lines, parsed) if lines is not None else None
    for line_number, line in numbered_lines(text or ""):
        if not line.strip():
            continue
        entry = load_json(line, parsed, line_number)
        if entry is None:
            continue
        try:
            if not isinstance(entry, Mapping):
                raise Invalid(f"must be an object, not {describe(entry)}", field="")
            record = _mltable_record(line_number, entry, task_type)
        except Invalid as error:
            parsed.invalid(line_number, error)
            continue
        if record is None:
            parsed.without_label += 1
        else:
            parsed.records.append(record)
    return parsed


def _mltable_record(line_number: int, entry: Mapping[str, Any], task_type: TaskType) -> ImportRecord | None:
    if task_type.media == "text":
        reference = Reference(text=need(entry, "text", str, "the item's text"))
    else:
        reference = Reference(path=need(entry, "image_url", str, "the image's URL or path"))
    label = entry.get("label")
    confidence = entry.get("label_confidence")
    score = lowest(confidence if isinstance(confidence, list) else [confidence])
    if label is None or (task_type.value.endswith(CLASSES) and label in ("", [])):
        return None
    if task_type.value.endswith(CLASSES):
        names = [label] if isinstance(label, str) else label
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise Invalid(
                f"must be a class name or a list of class names, not {describe(label)}", field="label"
            )
        return ImportRecord(line_number, reference, {"classes": list(names)}, tuple(names), score)
    if not isinstance(label, list) or not all(isinstance(region, Mapping) for region in label):
        raise Invalid(f"must be a list of regions, not {describe(label)}", field="label")
    if task_type == TaskType.text_ner:
        spans = [_span(span, f"label.{index}") for index, span in enumerate(label)]
        names = tuple(dict.fromkeys(span["class"] for span in spans))
        return ImportRecord(line_number, reference, {"spans": spans}, names, score)
    size = _details_size(entry.get("image_details"))
    regions = [_region(region, f"label.{index}", task_type) for index, region in enumerate(label)]
    names = tuple(dict.fromkeys(name for name, _ in regions))
    if not regions:  # no object: nothing to scale
        return ImportRecord(line_number, reference, {_SHAPES[task_type]: []}, names, score)
    return ImportRecord(line_number, reference, _scaled(regions, task_type, size), names, score)


def _span(span: Mapping[str, Any], field: str) -> dict[str, Any]:
    try:
        return {
            "start": need(span, "start", int, "a character offset"),
            "end": need(span, "end", int, "a character offset"),
            "class": need(span, "label", str, "a class name"),
        }
    except Invalid as error:
        raise Invalid(error.details["errors"][0]["message"], field=f"{field}.{error.field}") from None


def _details_size(details: object) -> tuple[int, int] | None:
    """image_details' width and height ("640px" or 640), when given."""
    if not isinstance(details, Mapping):
        return None
    sides = []
    for side in ("width", "height"):
        value = details.get(side)
        text = str(value).removesuffix("px").strip() if isinstance(value, int | str) else ""
        if not text.isdecimal() or int(text) < 1:
            return None
        sides.append(int(text))
    return sides[0], sides[1]


def _region(region: Mapping[str, Any], field: str, task_type: TaskType) -> tuple[str, list[float]]:
    """A region's class and its coordinates as fractions: box [left, top, right, bottom] or a polygon's
    flat [x1, y1, ...]."""
    try:
        name = need(region, "label", str, "a class name")
        if task_type == TaskType.object_detection:
            return name, [
                float(number(need(region, key, (int, float), "a fraction"), key))
                for key in ("topX", "topY", "bottomX", "bottomY")
            ]
        polygons = need(region, "polygon", list, "[[x1, y1, x2, y2, ...]]")
        if (
            len(polygons) != 1
            or not isinstance(polygons[0], list)
            or len(polygons[0]) < 6
            or len(polygons[0]) % 2
        ):
            raise Invalid("must be one polygon [[x1, y1, x2, y2, x3, y3, ...]]", field="polygon")
        return name, [float(number(value, "polygon")) for value in polygons[0]]
    except Invalid as error:
        raise Invalid(error.details["errors"][0]["message"], field=f"{field}.{error.field}") from None


def _scaled(
    regions: list[tuple[str, list[float]]], task_type: TaskType, size: tuple[int, int] | None
) -> Callable[[LabelContext], Payload]:
    """The label in pixels, once the image's size is known (the item's, else image_details')."""

    def build(context: LabelContext) -> Payload:
        known = (context.width, context.height) if context.width and context.height else size
        if known is None:
            raise Invalid(
                "holds coordinates relative to the image's size, which could not be read", field="label"
            )
        width, height = known
        if task_type == TaskType.object_detection:
            return {"boxes": [
                {"class": name, "x": pixels(left * width), "y": pixels(top * height),
                 "width": pixels((right - left) * width), "height": pixels((bottom - top) * height)}
                for name, (left, top, right, bottom) in regions
            ]}  # fmt: skip
        return {
            "polygons": [{"class": name, "points": _points(ring, width, height)} for name, ring in regions]
        }

    return build


def _points(flat: list[float], width: int, height: int) -> list[list[float | int]]:
    return [[pixels(x * width), pixels(y * height)] for x, y in zip(flat[::2], flat[1::2], strict=True)]
