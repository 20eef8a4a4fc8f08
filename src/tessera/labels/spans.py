"""Named-entity spans: character offsets into the item's text (Python string indices, i.e. Unicode code
points; `end` is exclusive), each with a project class, none overlapping another. Stored sorted by start.
When the context has no text, everything but `end ≤ len(text)` is checked."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from tessera.core.errors import Invalid
from tessera.labels.payload import MAX_SHAPES, LabelContext, read_int, read_list, read_object, resolve_class

SPAN_KEYS = ("start", "end", "class")


def _span(value: object, field: str, context: LabelContext) -> dict[str, Any]:
    span = read_object(value, field, keys=SPAN_KEYS)
    start = read_int(span["start"], f"{field}.start")
    end = read_int(span["end"], f"{field}.end")
    class_id = resolve_class(span["class"], f"{field}.class", context)
    if start < 0:
        raise Invalid(f"must be at least 0 (got {start})", field=f"{field}.start")
    if end <= start:
        raise Invalid(
            f"must be greater than start ({start}): a span holds at least one character", field=f"{field}.end"
        )
    if context.text is not None and end > len(context.text):
        raise Invalid(
            f"must be at most the text's length, {len(context.text)} characters (got {end})",
            field=f"{field}.end",
        )
    return {"start": start, "end": end, "class_id": class_id}


def validate_spans(payload: Mapping[str, Any], context: LabelContext) -> dict[str, Any]:
    """`{"spans": [{"start", "end", "class"}, ...]}`; an empty list means "no entity in this text"."""
    label = read_object(payload, "label", keys=("spans",))
    values = read_list(label["spans"], "label.spans", max_items=MAX_SHAPES)
    spans = [_span(value, f"label.spans.{index}", context) for index, value in enumerate(values)]
    order = sorted(range(len(spans)), key=lambda index: (spans[index]["start"], spans[index]["end"]))
    for before, after in pairwise(order):
        if spans[after]["start"] < spans[before]["end"]:
            first, second = sorted((before, after))
            raise Invalid(
                f"overlaps label.spans.{first} ({spans[first]['start']}–{spans[first]['end']}); "
                "spans must not overlap",
                field=f"label.spans.{second}",
            )
    return {"spans": [spans[index] for index in order]}
