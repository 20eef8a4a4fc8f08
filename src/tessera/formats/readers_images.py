"""Import reader for COCO JSON (image labels; MLTable is in readers_mltable.py).

`images` (`id`, `file_name` — the reference — `coco_url`, `width`, `height`), `categories` (`id`,
`name`) and `annotations` (`image_id`, `category_id`, and per task type: `bbox` [x, y, width, height] for
boxes; `segmentation` polygons [[x1, y1, x2, y2, ...]] for instance segmentation, one polygon each; RLE
`{"counts", "size"}` — counts listed or compressed — or polygons for semantic segmentation; nothing more
for classification, where each annotation's category is a class of its image). An image without
annotations carries no label, unless Tessera wrote it (`tessera_labeled`: true): then it is an empty
label ("no object"). Annotation `score`s make the prelabel's confidence (the lowest)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.core.errors import Invalid
from tessera.formats.import_masks import coco_rle, mask_label, polygon_mask
from tessera.formats.import_records import (
    ImportRecord,
    ParsedFile,
    Payload,
    ReadOptions,
    Reference,
    class_names,
    decode_text,
    load_json,
    lowest,
    need,
    number,
    shown,
)
from tessera.labels.payload import describe
from tessera.projects.models import TaskType

MULTICLASS = (TaskType.image_classification_multiclass, TaskType.text_classification_multiclass)


@dataclass
class _Image:
    record: int
    file_name: str
    url: str | None
    width: int | None
    height: int | None
    labeled: bool
    annotations: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)


def read_coco(data: bytes, task_type: TaskType, _options: ReadOptions) -> ParsedFile:
    parsed = ParsedFile()
    text = decode_text(data, parsed)
    document = load_json(text, parsed) if text is not None else None
    if document is None:
        return parsed
    if not isinstance(document, Mapping):
        parsed.problem(
            None,
            None,
            f"must be a COCO object with images, categories and annotations, not {describe(document)}",
        )
        return parsed
    lists: dict[str, list[Any]] = {}
    for key in ("images", "categories", "annotations"):
        value = document.get(key)
        lists[key] = value if isinstance(value, list) else []
        if key not in document:
            parsed.problem(None, key, "is required: a list")
        elif not isinstance(value, list):
            parsed.problem(None, key, f"must be a list, not {describe(value)}")
    categories = _categories(lists["categories"], parsed)
    images = _images(lists["images"], parsed)
    for position, annotation in enumerate(lists["annotations"], start=1):
        image = _annotation_image(position, annotation, images, categories, parsed)
        if image is not None:
            image.annotations.append((position, annotation))
    for image in images.values():
        _add_coco_label(image, task_type, categories, parsed)
    return parsed


def _categories(entries: list[Any], parsed: ParsedFile) -> dict[object, str]:
    found: dict[object, str] = {}
    for position, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, Mapping):
                raise Invalid(f"must be an object, not {describe(entry)}", field="")
            key = need(entry, "id", (int, str), "an id")
            name = need(entry, "name", str, "a class name")
        except Invalid as error:
            parsed.invalid(position, error, "categories.")
            continue
        if key in found:
            parsed.problem(position, "categories.id", f"repeats category id {shown(key)}")
        found[key] = name
    return found


def _images(entries: list[Any], parsed: ParsedFile) -> dict[object, _Image]:
    found: dict[object, _Image] = {}
    for position, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, Mapping):
                raise Invalid(f"must be an object, not {describe(entry)}", field="")
            key = need(entry, "id", (int, str), "an id")
            file_name = (
                need(entry, "file_name", str, "the image's path")
                if "coco_url" not in entry
                else entry.get("file_name")
            )
            url = entry.get("coco_url") if isinstance(entry.get("coco_url"), str) else None
            width, height = (_size(entry.get(side), side) for side in ("width", "height"))
        except Invalid as error:
            parsed.invalid(position, error, "images.")
            continue
        if key in found:
            parsed.problem(position, "images.id", f"repeats image id {shown(key)}")
            continue
        name = file_name if isinstance(file_name, str) and file_name else (url or "")
        found[key] = _Image(position, name, url, width, height, entry.get("tessera_labeled") is True)
    return found


def _size(value: object, side: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"must be a whole number of pixels, at least 1 (got {shown(value)})", field=side)
    return value


def _key(value: object) -> object:
    """An id to look up: ids are numbers or strings (a list or an object would not even hash)."""
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def _annotation_image(
    position: int,
    annotation: object,
    images: dict[object, _Image],
    categories: dict[object, str],
    parsed: ParsedFile,
) -> _Image | None:
    if not isinstance(annotation, Mapping):
        parsed.problem(position, "annotations", f"must be an object, not {describe(annotation)}")
        return None
    image = images.get(_key(annotation.get("image_id")))
    if image is None:
        reason = (
            "is required"
            if "image_id" not in annotation
            else f"image {shown(annotation['image_id'])} is not in images"
        )
        parsed.problem(position, "annotations.image_id", reason)
    if _key(annotation.get("category_id")) not in categories:
        reason = (
            "is required"
            if "category_id" not in annotation
            else f"category {shown(annotation['category_id'])} is not in categories"
        )
        parsed.problem(position, "annotations.category_id", reason)
        return None
    return image


def _add_coco_label(
    image: _Image, task_type: TaskType, categories: dict[object, str], parsed: ParsedFile
) -> None:
    reference = Reference(path=image.file_name or None, url=image.url)
    if not image.annotations and not (image.labeled and task_type not in _CLASSIFICATION):
        parsed.without_label += 1
        return
    scores = [annotation.get("score") for _, annotation in image.annotations]
    problems_before = len(parsed.problems)
    shapes: list[tuple[int, str, Any]] = []  # (annotation record, class name, shape)
    for position, annotation in image.annotations:
        name = categories[annotation["category_id"]]
        try:
            for shape in _coco_shapes(annotation, task_type, image):
                shapes.append((position, name, shape))
        except Invalid as error:
            parsed.invalid(position, error, "annotations.")
    if len(parsed.problems) > problems_before:
        return
    label, blame = _coco_label(image, task_type, shapes, parsed)
    if label is not None:
        record = ImportRecord(image.record, reference, label, class_names(label), lowest(scores), blame)
        parsed.records.append(record)


_CLASSIFICATION = (TaskType.image_classification_multiclass, TaskType.image_classification_multilabel)


def _coco_shapes(annotation: Mapping[str, Any], task_type: TaskType, image: _Image) -> list[Any]:
    """What one annotation gives: a class (classification), a box, polygons, or a mask."""
    if task_type in _CLASSIFICATION:
        return [None]
    if task_type == TaskType.object_detection:
        box = need(annotation, "bbox", list, "[x, y, width, height]")
        if len(box) != 4:
            raise Invalid(f"must be [x, y, width, height] (got {len(box)} numbers)", field="bbox")
        return [[number(value, "bbox") for value in box]]
    segmentation = need(annotation, "segmentation", (list, dict), "polygons or an RLE mask")
    if task_type == TaskType.instance_segmentation:
        if not isinstance(segmentation, list) or not segmentation:
            raise Invalid(
                "must be a list of polygons [[x1, y1, x2, y2, ...]] (RLE is for semantic segmentation)",
                field="segmentation",
            )
        return [_points(ring) for ring in segmentation]
    height, width = _mask_size(segmentation, image)
    if isinstance(segmentation, dict):
        counts = need(segmentation, "counts", (list, str), "a list of runs or a compressed RLE string")
        return [coco_rle(counts, height, width, "segmentation")]
    if not segmentation:
        raise Invalid("must hold at least one polygon, or be an RLE mask", field="segmentation")
    merged = polygon_mask(_points(segmentation[0]), height, width, "segmentation")
    for ring in segmentation[1:]:
        merged |= polygon_mask(_points(ring), height, width, "segmentation")
    return [merged]


def _points(ring: object) -> list[list[float | int]]:
    if not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2:
        raise Invalid(
            "must hold polygons of at least 3 points: [x1, y1, x2, y2, x3, y3, ...]", field="segmentation"
        )
    values = [number(value, "segmentation") for value in ring]
    return [[values[index], values[index + 1]] for index in range(0, len(values), 2)]


def _mask_size(segmentation: object, image: _Image) -> tuple[int, int]:
    if isinstance(segmentation, dict) and "size" in segmentation:
        size = segmentation["size"]
        if not (
            isinstance(size, list)
            and len(size) == 2
            and all(isinstance(side, int) and not isinstance(side, bool) for side in size)
        ):
            raise Invalid("must be [height, width]", field="segmentation.size")
        if image.width and image.height and (size[0], size[1]) != (image.height, image.width):
            raise Invalid(
                f"is {size[1]}×{size[0]}, but the image is {image.width}×{image.height}",
                field="segmentation.size",
            )
        return int(size[0]), int(size[1])
    if image.width is None or image.height is None:
        raise Invalid(
            "needs the image's width and height (in images) to draw polygons into a mask",
            field="segmentation",
        )
    return image.height, image.width


def _coco_label(
    image: _Image, task_type: TaskType, shapes: list[tuple[int, str, Any]], parsed: ParsedFile
) -> tuple[Payload | None, Callable[[str], tuple[int | None, str | None]]]:
    records = [position for position, _, _ in shapes]
    first = records[0] if records else image.record
    key = {TaskType.object_detection: "boxes", TaskType.instance_segmentation: "polygons"}.get(task_type)
    where = "annotations.bbox" if key == "boxes" else "annotations.segmentation"

    def blame(label_field: str) -> tuple[int | None, str | None]:
        parts = label_field.split(".")
        if (
            key
            and len(parts) > 2
            and parts[1] == key
            and parts[2].isdecimal()
            and int(parts[2]) < len(records)
        ):
            return records[int(parts[2])], "annotations.category_id" if parts[-1] == "class" else where
        if not records:
            return image.record, "images"
        return first, "annotations.category_id" if "classes" in label_field else where

    if task_type in _CLASSIFICATION:
        names = list(dict.fromkeys(name for _, name, _ in shapes))
        if task_type in MULTICLASS and len(names) > 1:
            second = next(position for position, name, _ in shapes if name != names[0])
            parsed.problem(
                second,
                "annotations.category_id",
                f"gives image {shown(image.file_name)} a second class ({shown(names[1])} after "
                f"{shown(names[0])}); a multi-class project takes one class per image",
            )
            return None, blame
        return {"classes": names}, blame
    if task_type == TaskType.object_detection:
        boxes = [
            {"class": name, "x": box[0], "y": box[1], "width": box[2], "height": box[3]}
            for _, name, box in shapes
        ]
        return {"boxes": boxes}, blame
    if task_type == TaskType.instance_segmentation:
        return {"polygons": [{"class": name, "points": points} for _, name, points in shapes]}, blame
    if not shapes:
        return None, blame  # an empty mask needs the image's size, which an empty label cannot give
    height, width = shapes[0][2].shape
    return mask_label([(name, mask) for _, name, mask in shapes], height, width, "label"), blame
