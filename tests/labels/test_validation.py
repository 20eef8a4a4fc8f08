"""Label validation: classification, the payload's shape and types for every task type, the rendered
form and class counters, and properties (round trips; any JSON-ish payload gives a dict or `Invalid`)."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tessera.core.errors import Invalid
from tessera.labels.validation import label_classes, render_label
from tessera.projects.models import TaskType
from tests.labels.conftest import (
    CLASSES,
    HEIGHT,
    NAMES,
    SMALL,
    TEXT,
    WIDTH,
    T,
    box,
    outcome,
    png,
    polygon,
    refused,
    span,
    validate,
)

# -- classification ------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_type", [T.image_classification_multiclass, T.text_classification_multiclass])
def test_multiclass_takes_exactly_one_class_matched_folded(task_type: TaskType) -> None:
    assert validate(task_type, {"classes": ["  TRAFFIC \t light "]}) == {"classes": [4]}
    assert validate(task_type, {"classes": ["ｃａｔ"]}) == {"classes": [1]}  # NFKC: full-width letters
    assert refused(task_type, {"classes": []}).field == "label.classes"
    assert "exactly one" in refused(task_type, {"classes": ["cat", "dog"]}).message


@pytest.mark.parametrize("task_type", [T.image_classification_multilabel, T.text_classification_multilabel])
def test_multilabel_takes_one_or_more_distinct_classes_stored_sorted(task_type: TaskType) -> None:
    assert validate(task_type, {"classes": ["dog", "Cat"]}) == {"classes": [1, 2]}
    assert refused(task_type, {"classes": []}).field == "label.classes"
    repeated = refused(task_type, {"classes": ["dog", "DOG "]})
    assert repeated.field == "label.classes.1"
    assert "label.classes.0" in repeated.message


def test_a_class_not_in_the_project_is_named() -> None:
    error = refused(T.image_classification_multilabel, {"classes": ["cat", "Zebra"]})
    assert error.field == "label.classes.1"
    assert "'Zebra'" in error.message
    assert error.details["class"] == "Zebra"


def test_what_no_response_could_encode_is_escaped_in_errors() -> None:
    assert_encodable(refused(T.image_classification_multiclass, {"classes": ["\ud800"]}))
    unknown_key = refused(T.image_classification_multiclass, {"classes": ["cat"], "\ud800\n": 1})
    assert unknown_key.field == "label.'\\ud800\\n'"
    assert_encodable(unknown_key)


# -- the payload's shape, for every task type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "payload", "field", "words"),
    [
        (T.image_classification_multiclass, ["cat"], "label", "must be an object"),
        (T.image_classification_multiclass, {"class": "cat"}, "label.class", "not a known field"),
        (T.image_classification_multiclass, {}, "label.classes", "is required"),
        (T.image_classification_multiclass, {"classes": "cat"}, "label.classes", "must be a list"),
        (T.image_classification_multiclass, {"classes": [3]}, "label.classes.0", "must be a string"),
        (T.object_detection, {"boxes": [box()], "note": 1}, "label.note", "not a known field"),
        (T.object_detection, {"boxes": [box(angle=3)]}, "label.boxes.0.angle", "not a known field"),
        (
            T.object_detection,
            {"boxes": [{"class": "car", "x": 1, "y": 1, "width": 2}]},
            "label.boxes.0.height",
            "is required",
        ),
        (T.object_detection, {"boxes": [box(x="10")]}, "label.boxes.0.x", "must be a number, not a string"),
        (T.object_detection, {"boxes": [box(y=True)]}, "label.boxes.0.y", "not a boolean"),
        (T.object_detection, {"boxes": [box(width=float("nan"))]}, "label.boxes.0.width", "finite"),
        (T.object_detection, {"boxes": [box(height=float("inf"))]}, "label.boxes.0.height", "finite"),
        (T.object_detection, {"boxes": [box(x=10**400)]}, "label.boxes.0.x", "between"),
        (T.object_detection, {"boxes": [box(**{"class": None})]}, "label.boxes.0.class", "not null"),
        (
            T.instance_segmentation,
            {"polygons": [polygon([[0, 0], [5, 0], [0, "5"]])]},
            "label.polygons.0.points.2.1",
            "must be a number",
        ),
        (
            T.instance_segmentation,
            {"polygons": [polygon([[0, 0], [5, 0], [0, 5, 1]])]},
            "label.polygons.0.points.2",
            "at most 2",
        ),
        (
            T.instance_segmentation,
            {"polygons": [polygon([[0, 0], [5, 0], [0]])]},
            "label.polygons.0.points.2",
            "[x, y]",
        ),
        (T.text_ner, {"spans": [span(0.0, 3)]}, "label.spans.0.start", "must be an integer"),
        (T.text_ner, {"spans": [span(0, True)]}, "label.spans.0.end", "not a boolean"),
        (T.text_ner, {"spans": [span(-(10**5000), 3)]}, "label.spans.0.start", "between"),
        (T.semantic_segmentation, {"mask_png": 5, "classes": []}, "label.mask_png", "must be a string"),
    ],
)
def test_wrong_shapes_and_types_are_refused_naming_the_field(
    task_type: TaskType, payload: Any, field: str, words: str
) -> None:
    error = refused(task_type, payload)
    assert error.field == field
    assert words in error.message


def assert_encodable(error: Invalid) -> None:
    """The error as the API sends it: JSON, UTF-8."""
    json.dumps({"message": error.message, "details": error.details}, ensure_ascii=False).encode()


def test_lists_are_capped() -> None:
    boxes = [box()] * 10_001
    error = refused(T.object_detection, {"boxes": boxes})
    assert error.field == "label.boxes"
    assert "at most 10,000" in error.message
    long_ring = [[x % 50, x // 50] for x in range(10_001)]
    assert (
        refused(T.instance_segmentation, {"polygons": [polygon(long_ring)]}).field
        == "label.polygons.0.points"
    )
    many_rings = [polygon([[0, 0], [1, 0], [1, 1]] * 3_000)] * 25  # 225,000 points in all
    assert refused(T.instance_segmentation, {"polygons": many_rings}).field == "label.polygons.22.points"


# -- rendering and class counters ----------------------------------------------------------------------


def test_render_gives_back_names_and_null_for_a_deleted_class() -> None:
    stored = {
        "boxes": [
            {"class_id": 3, "x": 1, "y": 2, "width": 3, "height": 4},
            {"class_id": 9, "x": 0, "y": 0, "width": 1, "height": 1},
        ]
    }
    assert render_label(stored, NAMES)["boxes"] == [
        {"class": "Car", "x": 1, "y": 2, "width": 3, "height": 4},
        {"class": None, "x": 0, "y": 0, "width": 1, "height": 1},
    ]
    assert render_label({"classes": [2, 1]}, NAMES) == {"classes": ["Dog", "Cat"]}
    assert render_label({"mask_png": "x", "class_ids": [4]}, NAMES) == {
        "mask_png": "x",
        "classes": ["Traffic Light"],
    }


def test_rendered_points_are_copies() -> None:
    stored = {"polygons": [{"class_id": 1, "points": [[0, 0], [5, 0], [5, 5]]}]}
    render_label(stored, NAMES)["polygons"][0]["points"][0][0] = 99
    assert stored["polygons"][0]["points"][0] == [0, 0]


def test_label_classes_lists_each_class_once_in_order_of_appearance() -> None:
    assert label_classes({"classes": [2]}) == [2]
    assert label_classes(
        {
            "spans": [
                {"start": 0, "end": 1, "class_id": 3},
                {"start": 1, "end": 2, "class_id": 1},
                {"start": 3, "end": 4, "class_id": 3},
            ]
        }
    ) == [3, 1]
    assert label_classes({"boxes": []}) == []


# -- properties --------------------------------------------------------------------------------------

class_names = st.sampled_from(sorted(NAMES.values()))
fractions = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def boxes_inside(draw: st.DrawFn) -> dict[str, Any]:
    x = draw(fractions) * (WIDTH - 1)
    y = draw(fractions) * (HEIGHT - 1)
    width = 1 + draw(fractions) * (WIDTH - 1 - x)
    height = 1 + draw(fractions) * (HEIGHT - 1 - y)
    return {"class": draw(class_names), "x": x, "y": y, "width": width, "height": height}


@given(st.lists(boxes_inside(), max_size=20))
def test_any_box_inside_the_image_survives_validate_then_render(boxes: list[dict[str, Any]]) -> None:
    stored = validate(T.object_detection, {"boxes": boxes})
    assert render_label(stored, NAMES) == {"boxes": boxes}
    assert label_classes(stored) == list(
        dict.fromkeys(CLASSES[name.casefold()] for name in (b["class"] for b in boxes))
    )


near_image = st.floats(min_value=-0.5, max_value=WIDTH + 0.5, allow_nan=False)
offsets = st.integers(min_value=0, max_value=len(TEXT) + 1)


@st.composite
def plausible_labels(draw: st.DrawFn) -> tuple[TaskType, dict[str, Any]]:
    """Payloads near the valid ones, of every task type: many pass, some are refused."""
    task_type = draw(st.sampled_from(list(TaskType)))
    names = st.lists(class_names, min_size=0, max_size=3)
    if task_type is T.object_detection:
        shapes = st.fixed_dictionaries(
            {
                "class": class_names,
                "x": near_image,
                "y": near_image,
                "width": near_image,
                "height": near_image,
            }
        )
        return task_type, {"boxes": draw(st.lists(shapes, max_size=5))}
    if task_type is T.instance_segmentation:
        points = st.lists(st.lists(near_image, min_size=2, max_size=2), min_size=3, max_size=8)
        return task_type, {
            "polygons": draw(
                st.lists(st.fixed_dictionaries({"class": class_names, "points": points}), max_size=4)
            )
        }
    if task_type is T.semantic_segmentation:
        array = draw(arrays(np.uint8, (HEIGHT, WIDTH), elements=st.integers(0, 4)))
        return task_type, {"mask_png": png(array), "classes": draw(names)}
    if task_type is T.text_ner:
        spans = st.builds(span, offsets, offsets, class_names)
        return task_type, {"spans": draw(st.lists(spans, max_size=5))}
    return task_type, {"classes": draw(names)}


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(plausible_labels())
def test_a_stored_label_rendered_and_sent_again_is_stored_the_same(
    case: tuple[TaskType, dict[str, Any]],
) -> None:
    task_type, payload = case
    stored = outcome(task_type, payload)
    event("refused" if isinstance(stored, Invalid) else "stored")
    if isinstance(stored, Invalid):
        return
    assert validate(task_type, render_label(stored, NAMES)) == stored
    json.dumps(stored, allow_nan=False)
    assert set(label_classes(stored)) <= set(NAMES)


payload_keys = ["classes", "boxes", "polygons", "spans", "mask_png", "class", "points", "start", "end"]
label_words = [*payload_keys, "x", "y", "width", "height", "cat", "\ud800"]  # a lone surrogate too
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.sampled_from(label_words)
    | st.sampled_from([10**400, -(2**70), 2**53])
    | st.builds(pow, st.just(10), st.just(5000))  # too long to print: built, never shown
)
json_ish = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.sampled_from(label_words) | st.text(max_size=3) | scalars, inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300)
@given(st.sampled_from(list(TaskType)), json_ish, st.booleans())
def test_any_json_ish_payload_gives_a_stored_label_or_invalid(
    task_type: TaskType, payload: Any, size_known: bool
) -> None:
    item: dict[str, Any] = {} if size_known else {"width": None, "height": None, "text": None}
    result = outcome(task_type, payload, **item)
    if isinstance(result, Invalid):
        assert result.field is not None
        assert result.field == "label" or result.field.startswith("label.")
        assert_encodable(result)
    else:
        json.dumps(result, allow_nan=False)  # storable as JSON


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a payload, the payload itself included."""
    children: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        children = [place for key, child in value.items() for place in _paths(child, (*path, key))]
    elif isinstance(value, list):
        children = [place for index, child in enumerate(value) for place in _paths(child, (*path, index))]
    return [path, *children]


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copied = dict(value) if isinstance(value, dict) else list(value)
    copied[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copied


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(plausible_labels(), st.data())
def test_a_plausible_payload_with_any_part_replaced_gives_a_stored_label_or_invalid(
    case: tuple[TaskType, dict[str, Any]], data: st.DataObject
) -> None:
    task_type, payload = case
    path = data.draw(st.sampled_from(_paths(payload)))
    result = outcome(task_type, _replaced(payload, path, data.draw(json_ish)))
    assert isinstance(result, dict) or result.field == "label" or str(result.field).startswith("label.")


@given(
    st.binary(max_size=200), st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", base64.b64decode(png(SMALL))[:33]])
)
def test_any_bytes_as_a_mask_give_a_stored_label_or_invalid(tail: bytes, head: bytes) -> None:
    encoded = base64.b64encode(head + tail).decode()
    result = outcome(
        T.semantic_segmentation, {"mask_png": encoded, "classes": ["cat", "dog"]}, width=3, height=2
    )
    assert isinstance(result, dict) or result.field == "label.mask_png"
