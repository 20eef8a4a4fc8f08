"""What an import's readers hand over: the file's records, each an item reference and a label as the API
takes it (classes by name), and every problem found in the file as `{record, field, reason}`.

`record` is the 1-based number of the record a problem is in: the line for CSV, JSON Lines and CoNLL (the
line where the record starts), the position in the file's list for JSON files (a Label Studio task; a
COCO image or annotation, the field naming which: `images.file_name`, `annotations.bbox`); null for the
file as a whole. `field` is the field in that record (null: the whole record)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.core.errors import Invalid
from tessera.labels.payload import LabelContext, describe, read_number

MAX_PROBLEMS = 1000  # listed in a refusal; the count says how many there were in all
MAX_SHOWN_CHARS = 200

Payload = dict[str, Any]
# A label that needs the matched item to be built (coordinates relative to the image's size, CoNLL
# tokens aligned with the item's text): called with the item's context; raises Invalid naming the field.
Deferred = Callable[[LabelContext], Payload]
# Where a problem the label's validation found (its field, e.g. "label.boxes.2.x") lies in the file.
Blame = Callable[[str], tuple[int | None, str | None]]


@dataclass(frozen=True)
class ReadOptions:
    """What a reader may be told: CSV and JSON Lines columns (None: the usual names)."""

    text_column: str | None = None  # the column holding the item's text (matched against text items)
    label_column: str | None = None


@dataclass(frozen=True)
class Reference:
    """How a record names its item: a path (relative, absolute or just a file name) or a URL, the row of
    a table file, or the item's text itself."""

    path: str | None = None
    url: str | None = None
    row_index: int | None = None
    text: str | None = None
    content: str | None = None  # the item's text with every whitespace character left out (CoNLL tokens)

    def shown(self) -> str:
        """The reference as an import report lists it."""
        where = self.path or self.url
        if where is None:
            text = self.text or self.content or ""
            return f"text {text[:60]!r}" + ("…" if len(text) > 60 else "")
        return f"{where} row {self.row_index}" if self.row_index else where


@dataclass
class ImportRecord:
    record: int
    reference: Reference
    label: Payload | Deferred
    classes: tuple[str, ...]  # the class names the label uses (for missing_classes)
    confidence: float | None = None  # kept on a prelabel
    blame: Blame | None = None  # where the label's validation problems lie; default: this record
    underscored: bool = False  # class names may hold `_` for spaces (CoNLL tags): `Org_Name` is `Org Name`

    def locate(self, label_field: str | None) -> tuple[int | None, str | None]:
        return self.blame(label_field or "label") if self.blame else (self.record, label_field)


@dataclass(frozen=True)
class Problem:
    record: int | None
    field: str | None
    reason: str

    def shown(self) -> dict[str, Any]:
        return {"record": self.record, "field": self.field, "reason": self.reason}


@dataclass
class ParsedFile:
    records: list[ImportRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    without_label: int = 0  # records naming an item but carrying no label (left alone)

    def problem(self, record: int | None, field: str | None, reason: str) -> None:
        self.problems.append(Problem(record, field, reason))

    def invalid(self, record: int | None, error: Invalid, prefix: str = "") -> None:
        """A problem from an `Invalid` raised by a check: its field (after `prefix`) and its message."""
        first = (error.details.get("errors") or [{}])[0]
        at = first.get("field") or error.field
        self.problem(
            record,
            f"{prefix}{at}" if at else (prefix.rstrip(".") or None),
            first.get("message") or error.message,
        )


def shown(value: object) -> str:
    """A value from the file, short enough for a message."""
    if not isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= MAX_SHOWN_CHARS else f"{text[:MAX_SHOWN_CHARS]}…"
    return repr(value if len(value) <= MAX_SHOWN_CHARS else f"{value[:MAX_SHOWN_CHARS]}…")


def decode_text(data: bytes, parsed: ParsedFile) -> str | None:
    """The file as UTF-8 text (a BOM dropped); None and a problem when it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        parsed.problem(line, None, f"is not UTF-8 text (byte {error.start + 1} of the file)")
        return None


def load_json(text: str, parsed: ParsedFile, record: int | None = None) -> Any:
    """The JSON value; None and a problem naming the line and column when it is not valid JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}" if record is None else f"column {error.colno}"
        parsed.problem(record, None, f"is not valid JSON: {error.msg} ({where})")
        return None
    except RecursionError:
        parsed.problem(record, None, "is not usable JSON: nested too deeply")
        return None


def need(value: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """`value[key]`, which must be of `kind` (`what` in words); Invalid naming `key` otherwise."""
    if key not in value:
        raise Invalid("is required", field=key)
    found = value[key]
    if isinstance(found, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise Invalid(f"must be {what}, not a boolean", field=key)
    if not isinstance(found, kind):
        raise Invalid(f"must be {what}, not {describe(found)}", field=key)
    return found


def number(value: object, field: str) -> float | int:
    """A finite number within the coordinates' range (JSON readers take NaN and Infinity too)."""
    return read_number(value, field)


def class_names(label: Mapping[str, Any]) -> tuple[str, ...]:
    """The class names a label as the API takes it uses, each once (others are the validation's to
    refuse)."""
    names: list[str] = []
    for key, value in label.items():
        if key == "classes" and isinstance(value, list):
            names.extend(name for name in value if isinstance(name, str))
        elif key in ("boxes", "polygons", "spans") and isinstance(value, list):
            names.extend(
                shape["class"]
                for shape in value
                if isinstance(shape, Mapping) and isinstance(shape.get("class"), str)
            )
    return tuple(dict.fromkeys(names))


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    yield from enumerate(text.splitlines(), start=1)


SHAPE_KEYS = {"object_detection": "boxes", "instance_segmentation": "polygons", "text_ner": "spans"}


def loose_label(task_type: str, value: object, field: str) -> Payload:
    """A label written loosely, as CSV and JSON Lines files hold them: an object as the API takes it, a
    class name (`"cat"`), a list of class names, or a list of shapes (boxes, polygons or spans)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        return {"classes": [value]}
    if isinstance(value, list) and all(isinstance(entry, str) for entry in value):
        return {"classes": list(value)}
    shapes = SHAPE_KEYS.get(task_type)
    if shapes == "spans" and isinstance(value, list) and all(_triple(entry) for entry in value):
        return {"spans": [{"start": start, "end": end, "class": name} for start, end, name in value]}
    if shapes and isinstance(value, list) and all(isinstance(entry, Mapping) for entry in value):
        return {shapes: list(value)}
    also = f" or of {shapes}" if shapes else ""
    raise Invalid(
        f"must be a label object, a class name or a list of class names{also}, not {describe(value)}",
        field=field,
    )


def _triple(entry: object) -> bool:
    """[start, end, class], as doccano writes spans."""
    return isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str)


def pixels(value: float) -> float | int:
    """A coordinate computed from a fraction of the image's size: rounded to 6 decimals, an int when
    whole (0.1 × 40 is 4, not 4.000000000000001)."""
    rounded = round(float(value), 6)
    return int(rounded) if rounded.is_integer() else rounded


def lowest(scores: list[object]) -> float | None:
    """A label's confidence from its parts' scores: the lowest, or None when none is a number."""
    numbers = [
        float(score) for score in scores if isinstance(score, int | float) and not isinstance(score, bool)
    ]
    return min(numbers) if numbers else None


def zipped_file(data: bytes, parsed: ParsedFile, suffix: str, preferred: str | None = None) -> bytes | None:
    """The upload itself, or — a zip, as exports deliver several files — its `preferred` file, else its
    one file ending with `suffix`; None and a problem when there is no such single file."""
    if not data.startswith(b"PK\x03\x04"):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            names = [name for name in packed.namelist() if name.endswith(suffix)]
            if preferred in names:
                names = [preferred]
            if len(names) != 1:
                parsed.problem(
                    None, None, f"is a zip with {len(names)} {suffix} files; it must hold exactly one"
                )
                return None
            return packed.read(names[0])
    except (zipfile.BadZipFile, OSError) as error:
        parsed.problem(None, None, f"is not a readable zip file ({error})")
        return None
