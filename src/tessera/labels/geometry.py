"""Boxes (object detection) and polygons (instance segmentation), in image pixels: origin at the image's
top-left corner, x to the right, y down, numbers may be fractional.

A shape may overshoot the image by up to EDGE_TOLERANCE px (rounding in the browser); such coordinates
are clamped onto the edge. The lower edges (0) are always checked; the upper ones (the image's width and
height) only when the context knows the image's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tessera.core.errors import Invalid
from tessera.labels.payload import (
    MAX_COORDINATE,
    MAX_SHAPES,
    LabelContext,
    read_list,
    read_number,
    read_object,
    resolve_class,
)

EDGE_TOLERANCE = 0.5  # px a coordinate may lie outside the image and still be clamped onto its edge
MIN_BOX_SIDE = 1  # px
MAX_POLYGON_POINTS = 10_000
MAX_LABEL_POINTS = 200_000  # all the polygons of one label together
FLAT_TOLERANCE = 1e-6  # px (distance from a line) and px² (area) below which a polygon is flat

PLAIN_NUMBERS = (int, float)  # exactly these types: bool is an int subclass

BOX_KEYS = ("class", "x", "y", "width", "height")
POLYGON_KEYS = ("class", "points")

Number = float | int


def _fit_coordinate(value: Number, limit: int | None, field: str, side: str) -> Number:
    """A coordinate inside [0, limit], an overshoot of at most EDGE_TOLERANCE clamped onto the edge."""
    if value < 0:
        if value < -EDGE_TOLERANCE:
            raise Invalid(f"must be at least 0: {value:g} is outside the image", field=field)
        return 0
    if limit is not None and value > limit:
        if value > limit + EDGE_TOLERANCE:
            raise Invalid(
                f"must be at most {limit}: {value:g} is outside the image ({limit} px {side})", field=field
            )
        return limit
    return value


def _fit_extent(
    start: Number, size: Number, limit: int | None, fields: tuple[str, str], side: str
) -> tuple[Number, Number]:
    """One axis of a box (start and size) fitted into [0, limit]; the size must stay ≥ MIN_BOX_SIDE."""
    start_field, size_field = fields
    if size < MIN_BOX_SIDE:
        raise Invalid(
            f"must be at least {MIN_BOX_SIDE} px (got {size:g}); a zero-size box is never saved: "
            "draw it again or delete it",
            field=size_field,
        )
    fitted_start = _fit_coordinate(start, limit, start_field, side)
    end = start + size
    if limit is not None and end > limit + EDGE_TOLERANCE:
        raise Invalid(
            f"makes the box end at {end:g}, outside the image ({limit} px {side})", field=size_field
        )
    fitted_end = min(end, limit) if limit is not None else end
    if fitted_start == start and fitted_end == end:
        return start, size  # untouched: no float arithmetic on what the labeler sent
    fitted_size = fitted_end - fitted_start
    if fitted_size < MIN_BOX_SIDE:
        raise Invalid(
            f"must be at least {MIN_BOX_SIDE} px inside the image (got {fitted_size:g} after clamping)",
            field=size_field,
        )
    return fitted_start, fitted_size


def _box(value: object, field: str, context: LabelContext) -> dict[str, Any]:
    box = read_object(value, field, keys=BOX_KEYS)
    class_id = resolve_class(box["class"], f"{field}.class", context)
    x, y, width, height = (read_number(box[key], f"{field}.{key}") for key in ("x", "y", "width", "height"))
    x, width = _fit_extent(x, width, context.width, (f"{field}.x", f"{field}.width"), "wide")
    y, height = _fit_extent(y, height, context.height, (f"{field}.y", f"{field}.height"), "high")
    return {"class_id": class_id, "x": x, "y": y, "width": width, "height": height}


def validate_boxes(payload: Mapping[str, Any], context: LabelContext) -> dict[str, Any]:
    """`{"boxes": [{"class", "x", "y", "width", "height"}, ...]}`; an empty list means "no object"."""
    label = read_object(payload, "label", keys=("boxes",))
    boxes = read_list(label["boxes"], "label.boxes", max_items=MAX_SHAPES)
    return {"boxes": [_box(box, f"label.boxes.{index}", context) for index, box in enumerate(boxes)]}


def _point(value: object, field: str, context: LabelContext) -> list[Number]:
    pair = read_list(value, field, max_items=2)
    if len(pair) != 2:
        raise Invalid(f"must be a point [x, y] (got {len(pair)} numbers)", field=field)
    x = _fit_coordinate(read_number(pair[0], f"{field}.0"), context.width, f"{field}.0", "wide")
    y = _fit_coordinate(read_number(pair[1], f"{field}.1"), context.height, f"{field}.1", "high")
    return [x, y]


def _plain_point(value: object, right: float, bottom: float) -> list[Number] | None:
    """The point when it needs neither a message nor clamping: [x, y], plain ints or floats inside
    [0, right]×[0, bottom] (the common case, checked without building field names); None for anything
    else, which `_point` then reads or refuses."""
    if type(value) is not list or len(value) != 2:
        return None
    x, y = value
    if type(x) not in PLAIN_NUMBERS or type(y) not in PLAIN_NUMBERS:
        return None
    return [x, y] if 0 <= x <= right and 0 <= y <= bottom else None  # NaN compares False


def _ring(values: Sequence[Any], field: str, context: LabelContext) -> list[list[Number]]:
    """The points, with repeats of the point before dropped (and a last point that closes the ring)."""
    right = MAX_COORDINATE if context.width is None else context.width
    bottom = MAX_COORDINATE if context.height is None else context.height
    points: list[list[Number]] = []
    for index, value in enumerate(values):
        point = _plain_point(value, right, bottom) or _point(value, f"{field}.{index}", context)
        if not points or point != points[-1]:
            points.append(point)
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    return points


def _count_distinct(points: list[list[Number]], enough: int) -> int:
    """How many distinct points there are, counting no further than `enough`."""
    seen: set[tuple[Number, Number]] = set()
    for x, y in points:
        seen.add((x, y))
        if len(seen) == enough:
            break
    return len(seen)


def _check_not_flat(points: list[list[Number]], field: str) -> None:
    """At least 3 distinct points, not all on one line, enclosing an area (shoelace formula)."""
    distinct = _count_distinct(points, enough=3)
    if distinct < 3:
        raise Invalid(f"must have at least 3 distinct points (got {distinct})", field=field)
    offsets = np.asarray(points, dtype=np.float64)
    offsets -= offsets[0]  # relative to one point: keeps the products small and exact enough
    far = offsets[int(np.argmax(np.hypot(offsets[:, 0], offsets[:, 1])))]
    cross = offsets[:, 0] * far[1] - offsets[:, 1] * far[0]
    if float(np.max(np.abs(cross))) <= FLAT_TOLERANCE * float(np.hypot(far[0], far[1])):
        raise Invalid("has all its points on one line: a polygon must enclose an area", field=field)
    following = np.roll(offsets, -1, axis=0)
    area = abs(float(np.sum(offsets[:, 0] * following[:, 1] - following[:, 0] * offsets[:, 1]))) / 2
    if area <= FLAT_TOLERANCE:
        raise Invalid("encloses no area (its edges cross so that its parts cancel out)", field=field)


def validate_polygons(payload: Mapping[str, Any], context: LabelContext) -> dict[str, Any]:
    """`{"polygons": [{"class", "points": [[x, y], ...]}, ...]}`; an empty list means "no object"."""
    label = read_object(payload, "label", keys=("polygons",))
    polygons = read_list(label["polygons"], "label.polygons", max_items=MAX_SHAPES)
    points_left = MAX_LABEL_POINTS
    stored: list[dict[str, Any]] = []
    for index, value in enumerate(polygons):
        field = f"label.polygons.{index}"
        polygon = read_object(value, field, keys=POLYGON_KEYS)
        class_id = resolve_class(polygon["class"], f"{field}.class", context)
        raw_points = read_list(polygon["points"], f"{field}.points", max_items=MAX_POLYGON_POINTS)
        points_left -= len(raw_points)
        if points_left < 0:
            raise Invalid(
                f"the label's polygons hold more than {MAX_LABEL_POINTS:,} points in all",
                field=f"{field}.points",
            )
        points = _ring(raw_points, f"{field}.points", context)
        _check_not_flat(points, f"{field}.points")
        stored.append({"class_id": class_id, "points": points})
    return {"polygons": stored}
