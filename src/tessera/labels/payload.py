"""Reading one label payload as the API sends it (JSON-ish values): the context it is checked against,
typed field readers that raise `Invalid` naming the field (a dotted path such as "label.boxes.2.width"),
and class references by name, folded like the project's label classes are."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tessera.core.errors import Invalid
from tessera.projects.label_classes import fold_name
from tessera.projects.models import TaskType

MAX_SHAPES = 10_000  # boxes, polygons or spans in one label
MAX_COORDINATE = 1e9  # pixels; far past any real image, keeps every sum and product finite
MAX_SAFE_INTEGER = 2**53 - 1  # what every JSON reader keeps exactly (and Python prints without limit)
MAX_QUOTED_CHARS = 100  # how much of a refused name a message quotes


@dataclass(frozen=True)
class LabelContext:
    """What one label is checked against: the project's task type and current classes, and the item."""

    task_type: TaskType
    classes: Mapping[str, int]  # folded class name -> LabelClass.id, for the project's current classes
    width: int | None = None  # the image's size in pixels (image tasks); None when not known
    height: int | None = None
    text: str | None = None  # the item's text (text tasks)


def describe(value: object) -> str:
    """What a wrong value is, in a message's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def read_object(value: object, field: str, *, keys: Collection[str]) -> Mapping[str, Any]:
    """`value` as an object holding exactly `keys`: each is required, any other key is refused."""
    if not isinstance(value, Mapping):
        raise Invalid(f"must be an object, not {describe(value)}", field=field)
    for key in value:
        if key not in keys:
            expected = ", ".join(sorted(keys))
            raise Invalid(f"is not a known field (expected one of {expected})", field=f"{field}.{shown(key)}")
    for key in keys:
        if key not in value:
            raise Invalid("is required", field=f"{field}.{key}")
    return value


def read_list(value: object, field: str, *, max_items: int) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise Invalid(f"must be a list, not {describe(value)}", field=field)
    if len(value) > max_items:
        raise Invalid(f"must hold at most {max_items:,} entries (got {len(value):,})", field=field)
    return value


def read_number(value: object, field: str) -> float | int:
    """A finite number within ±MAX_COORDINATE (booleans and strings refused); kept as int or float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"must be a number, not {describe(value)}", field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid("must be a finite number", field=field)
    if abs(value) > MAX_COORDINATE:
        raise Invalid(f"must be between {-MAX_COORDINATE:g} and {MAX_COORDINATE:g}", field=field)
    return value


def read_int(value: object, field: str) -> int:
    """An integer within ±MAX_SAFE_INTEGER (booleans and floats refused, even 5.0: offsets are counts,
    never measurements)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"must be an integer, not {describe(value)}", field=field)
    if abs(value) > MAX_SAFE_INTEGER:
        raise Invalid(f"must be between {-MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}", field=field)
    return value


def read_string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, not {describe(value)}", field=field)
    return value


def shown(text: object) -> str:
    """Text from the payload as safe to echo: printable (no lone surrogates, which no response could
    encode) and at most MAX_QUOTED_CHARS long; anything else is escaped."""
    if not isinstance(text, str):
        return f"<{describe(text)}>"  # JSON keys are strings; never print an arbitrary object
    if not text.isprintable():
        text = ascii(text)
    return text if len(text) <= MAX_QUOTED_CHARS else f"{text[:MAX_QUOTED_CHARS]}…"


def quoted(name: str) -> str:
    """A name for a message: repr escapes what is not printable."""
    return repr(name if len(name) <= MAX_QUOTED_CHARS else f"{name[:MAX_QUOTED_CHARS]}…")


def resolve_class(value: object, field: str, context: LabelContext) -> int:
    """The id of the project class a name refers to, compared folded (case, width, spacing ignored)."""
    name = read_string(value, field)
    class_id = context.classes.get(fold_name(name))
    if class_id is None:
        raise Invalid(
            f"label class {quoted(name)} is not in this project", field=field, details={"class": shown(name)}
        )
    return class_id


def resolve_distinct_classes(
    value: object, field: str, context: LabelContext, *, max_items: int
) -> list[int]:
    """Class names to ids, in the order given; a class named twice (after folding) is refused."""
    names = read_list(value, field, max_items=max_items)
    first_index: dict[int, int] = {}
    for index, name in enumerate(names):
        class_id = resolve_class(name, f"{field}.{index}", context)
        if class_id in first_index:
            raise Invalid(
                f"repeats the class at {field}.{first_index[class_id]} (names are compared ignoring case)",
                field=f"{field}.{index}",
            )
        first_index[class_id] = index
    return list(first_index)
