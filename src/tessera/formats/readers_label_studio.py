"""Import reader for Label Studio's JSON export (a list of tasks), for every task type.

Each task's `data` names the item: a `path` (or `file_name`) value first, else the image or text URL
(`image`, `img`, `url`, `image_url`; `/data/local-files/?d=<path>` is read as the path), else — text
projects — its `text`, matched against the items' texts. The label is the task's last annotation that
was not cancelled, else its last prediction (whose `score` becomes the confidence). Results by task type:
`choices` (classification), `rectanglelabels` (boxes; percentages of the image's size, unrotated),
`polygonlabels` (polygons, percentages), `brushlabels` (semantic segmentation; Label Studio's RLE),
`labels` (named entities; offsets in characters — code points — as Label Studio stores them now; where
the span's `text` shows UTF-16 offsets, as older versions stored, they are turned into characters). An
annotation with an empty result is an empty label for shape tasks (no object, no entity, an all-zero
mask). `relation` results are left out; any other is a problem. The upload may be the JSON file or the
zip of a Tessera export (its `tasks.json`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tessera.core.errors import Invalid
from tessera.formats.import_masks import label_studio_brush, mask_label
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
    pixels,
    zipped_file,
)
from tessera.labels.payload import LabelContext, describe
from tessera.projects.models import TaskType

PATH_KEYS = ("path", "tessera_path", "file_name")
URL_KEYS = ("image", "img", "url", "image_url")
RESULT_TYPES: dict[TaskType, str] = {
    TaskType.image_classification_multiclass: "choices",
    TaskType.image_classification_multilabel: "choices",
    TaskType.text_classification_multiclass: "choices",
    TaskType.text_classification_multilabel: "choices",
    TaskType.object_detection: "rectanglelabels",
    TaskType.instance_segmentation: "polygonlabels",
    TaskType.semantic_segmentation: "brushlabels",
    TaskType.text_ner: "labels",
}
Region = tuple[int, str, Any]  # (result index, class name, shape in the result's units)


def read_label_studio(data: bytes, task_type: TaskType, _options: ReadOptions) -> ParsedFile:
    parsed = ParsedFile()
    tasks_file = zipped_file(data, parsed, ".json", "tasks.json")
    text = decode_text(tasks_file, parsed) if tasks_file is not None else None
    document = load_json(text, parsed) if text is not None else None
    if document is None:
        return parsed
    tasks = [document] if isinstance(document, Mapping) else document
    if not isinstance(tasks, list):
        parsed.problem(None, None, f"must be a list of Label Studio tasks, not {describe(document)}")
        return parsed
    for position, task in enumerate(tasks, start=1):
        try:
            record = _task(position, task, task_type)
        except Invalid as error:
            parsed.invalid(position, error)
            continue
        if record is None:
            parsed.without_label += 1
        else:
            parsed.records.append(record)
    return parsed


def _reference(data: Mapping[str, Any], task_type: TaskType) -> Reference:
    path = next((data[key] for key in PATH_KEYS if isinstance(data.get(key), str) and data[key]), None)
    url = next((data[key] for key in URL_KEYS if isinstance(data.get(key), str) and data[key]), None)
    text = data.get("text") if task_type.media == "text" and isinstance(data.get("text"), str) else None
    if url and "?d=" in url and url.split("?", 1)[0].rstrip("/").endswith("/data/local-files"):
        path, url = path or url.split("?d=", 1)[1], None
    if not (path or url or text):
        raise Invalid("names no item: give data.path, data.image or data.text", field="data")
    return Reference(path=path, url=url, text=None if (path or url) else text)


def _chosen(task: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The annotation that counts (the last not cancelled), else the last prediction, with its field."""
    for key in ("annotations", "predictions"):
        entries = task.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise Invalid(f"must be a list, not {describe(entries)}", field=key)
        for index in reversed(range(len(entries))):
            entry = entries[index]
            if not isinstance(entry, Mapping):
                raise Invalid(f"must be an object, not {describe(entry)}", field=f"{key}.{index}")
            if not entry.get("was_cancelled"):
                return f"{key}.{index}", entry
    return None


def _task(position: int, task: object, task_type: TaskType) -> ImportRecord | None:
    if not isinstance(task, Mapping):
        raise Invalid(f"must be a Label Studio task (an object), not {describe(task)}", field="")
    data = need(task, "data", Mapping, "an object")
    reference = _reference(data, task_type)
    chosen = _chosen(task)
    if chosen is None:
        return None
    where, annotation = chosen
    results = need(annotation, "result", list, "a list of results")
    regions, sizes = _regions(results, task_type, where, data)
    if not regions and task_type in _CLASSIFICATION:
        return None
    names = tuple(dict.fromkeys(name for _, name, _ in regions))
    confidence = lowest([annotation.get("score")]) if where.startswith("predictions") else None
    label = _label(regions, task_type, sizes, where)

    def blame(label_field: str) -> tuple[int | None, str | None]:
        parts = label_field.split(".")
        index = int(parts[2]) if len(parts) > 2 and parts[2].isdecimal() else 0
        shown_at = regions[min(index, len(regions) - 1)][0] if regions else None
        return position, f"{where}.result.{shown_at}.value" if shown_at is not None else f"{where}.result"

    return ImportRecord(position, reference, label, names, confidence, blame)


_CLASSIFICATION = tuple(task_type for task_type, kind in RESULT_TYPES.items() if kind == "choices")


def _regions(
    results: list[Any], task_type: TaskType, where: str, data: Mapping[str, Any]
) -> tuple[list[Region], set[tuple[int, int]]]:
    wanted, regions, sizes = RESULT_TYPES[task_type], list[Region](), set[tuple[int, int]]()
    text = data.get("text") if isinstance(data.get("text"), str) else None
    for index, result in enumerate(results):
        field = f"{where}.result.{index}"
        if not isinstance(result, Mapping):
            raise Invalid(f"must be an object, not {describe(result)}", field=field)
        kind = result.get("type")
        if kind == "relation":
            continue
        if kind != wanted:
            raise Invalid(
                f"is a {kind!r} result; a {task_type.value} project takes {wanted!r} results",
                field=f"{field}.type",
            )
        value = need(result, "value", Mapping, "an object")
        try:
            names = need(value, wanted, list, "a list of class names")
            if not names or not all(isinstance(name, str) for name in names):
                raise Invalid("must hold class names", field=wanted)
            if wanted != "choices" and len(names) != 1:
                raise Invalid(f"must hold exactly one class (got {len(names)})", field=wanted)
            size = _original_size(result)
            if size:
                sizes.add(size)
            regions.extend(
                (index, name, _shape(value, wanted, size, text))
                for name in (names if wanted == "choices" else names[:1])
            )
        except Invalid as error:
            raise Invalid(
                error.details["errors"][0]["message"], field=f"{field}.value.{error.field}"
            ) from None
    if len(sizes) > 1:
        raise Invalid(
            "gives the image different sizes (original_width, original_height)", field=f"{where}.result"
        )
    return regions, sizes


def _original_size(result: Mapping[str, Any]) -> tuple[int, int] | None:
    width, height = result.get("original_width"), result.get("original_height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    return None


def _shape(value: Mapping[str, Any], kind: str, size: tuple[int, int] | None, text: str | None) -> Any:
    if kind == "choices":
        return None
    if kind == "rectanglelabels":
        if value.get("rotation") not in (None, 0, 0.0):
            raise Invalid("is a rotated box; only unrotated boxes can be imported", field="rotation")
        return [
            float(number(need(value, key, (int, float), "a percentage"), key))
            for key in ("x", "y", "width", "height")
        ]
    if kind == "polygonlabels":
        points = need(value, "points", list, "a list of [x, y] percentages")
        if not all(isinstance(point, list) and len(point) == 2 for point in points):
            raise Invalid("must be a list of [x, y] percentages", field="points")
        return [[float(number(x, "points")), float(number(y, "points"))] for x, y in points]
    if kind == "brushlabels":
        if value.get("format") != "rle" or size is None:
            raise Invalid(
                "must be an RLE brush (format rle) with original_width and original_height", field="format"
            )
        return label_studio_brush(need(value, "rle", list, "a list of bytes"), size[1], size[0], "rle")
    start, end = (need(value, key, int, "a character offset") for key in ("start", "end"))
    quoted = value.get("text")
    if text is None or not isinstance(quoted, str) or text[start:end] == quoted:
        return start, end
    moved = _from_utf16(text, start), _from_utf16(text, end)  # an older Label Studio's offsets
    return moved if None not in moved and text[moved[0] : moved[1]] == quoted else (start, end)


def _from_utf16(text: str, units: int) -> int | None:
    """A UTF-16 offset (what JavaScript counts) as a character offset; None inside a character."""
    counted = 0
    for index, character in enumerate(text):
        if counted >= units:
            return index if counted == units else None
        counted += 2 if ord(character) >= 0x10000 else 1
    return len(text) if counted == units else None


def _label(
    regions: list[Region], task_type: TaskType, sizes: set[tuple[int, int]], where: str
) -> Payload | Callable[[LabelContext], Payload]:
    kind = RESULT_TYPES[task_type]
    if kind == "choices":
        return {"classes": list(dict.fromkeys(name for _, name, _ in regions))}
    if kind == "labels":
        return {"spans": [{"start": start, "end": end, "class": name} for _, name, (start, end) in regions]}
    if kind == "brushlabels" and not regions:  # nothing painted: an all-zero mask of the image's size
        return lambda context: _with_size(
            context, lambda width, height: mask_label([], height, width, "label")
        )
    if kind == "brushlabels":
        width, height = next(iter(sizes))
        return mask_label([(name, mask) for _, name, mask in regions], height, width, f"{where}.result")
    if not regions:
        return {"boxes" if kind == "rectanglelabels" else "polygons": []}
    scale = _percent_scale(regions, kind)
    if sizes:
        return scale(*next(iter(sizes)))
    return lambda context: _with_size(context, scale)


def _with_size(context: LabelContext, scale: Callable[[int, int], Any]) -> Payload:
    if not context.width or not context.height:
        raise Invalid("holds percentages of the image's size, which could not be read", field="label")
    label: Payload = scale(context.width, context.height)
    return label


def _percent_scale(regions: list[Region], kind: str) -> Callable[[int, int], Payload]:
    def scale(width: int, height: int) -> Payload:
        if kind == "rectanglelabels":
            return {"boxes": [
                {"class": name, "x": pixels(x * width / 100), "y": pixels(y * height / 100),
                 "width": pixels(w * width / 100), "height": pixels(h * height / 100)}
                for _, name, (x, y, w, h) in regions
            ]}  # fmt: skip
        return {"polygons": [
            {"class": name, "points": [[pixels(x * width / 100), pixels(y * height / 100)] for x, y in ring]}
            for _, name, ring in regions
        ]}  # fmt: skip

    return scale
