"""Boxes and polygons: inside the image (half-pixel overshoots clamped), at least 1 px, never flat."""

from __future__ import annotations

import pytest

from tests.labels.conftest import T, box, polygon, refused, validate

# -- boxes -------------------------------------------------------------------------------------------


def test_a_box_inside_the_image_is_stored_with_its_class_id_and_numbers_untouched() -> None:
    stored = validate(
        T.object_detection, {"boxes": [box(), box(**{"class": "Dog"}, x=0, y=0, width=64, height=48)]}
    )
    assert stored == {
        "boxes": [
            {"class_id": 3, "x": 10, "y": 20, "width": 30.5, "height": 20},
            {"class_id": 2, "x": 0, "y": 0, "width": 64, "height": 48},
        ]
    }


def test_no_boxes_is_a_label() -> None:
    assert validate(T.object_detection, {"boxes": []}) == {"boxes": []}


@pytest.mark.parametrize("side", ["width", "height"])
@pytest.mark.parametrize("size", [0, 0.99, -3])
def test_a_box_under_one_pixel_is_refused_never_saved(side: str, size: float) -> None:
    error = refused(T.object_detection, {"boxes": [box(), box(**{side: size})]})
    assert error.field == f"label.boxes.1.{side}"
    assert "zero-size box is never saved" in error.message


def test_overshoots_of_half_a_pixel_are_clamped_onto_the_edge() -> None:
    stored = validate(T.object_detection, {"boxes": [box(x=-0.5, y=-0.25, width=64.9, height=48.5)]})
    assert stored["boxes"][0] == pytest.approx({"class_id": 3, "x": 0, "y": 0, "width": 64, "height": 48})


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"x": -0.6}, "label.boxes.0.x", "at least 0"),
        ({"y": -2}, "label.boxes.0.y", "at least 0"),
        ({"x": 65}, "label.boxes.0.x", "64 px wide"),
        ({"x": 40, "width": 24.6}, "label.boxes.0.width", "64 px wide"),
        ({"y": 40, "height": 9}, "label.boxes.0.height", "48 px high"),
        ({"x": 63.6, "width": 1}, "label.boxes.0.width", "outside the image"),
        ({"x": -0.5, "width": 1.2}, "label.boxes.0.width", "after clamping"),
    ],
)
def test_a_box_outside_the_image_is_refused(changes: dict[str, float], field: str, words: str) -> None:
    error = refused(T.object_detection, {"boxes": [box(**changes)]})
    assert error.field == field
    assert words in error.message


def test_without_the_image_size_only_the_far_edges_go_unchecked() -> None:
    unknown = {"width": None, "height": None}
    far = box(x=5000, y=7000, width=100, height=100)
    assert validate(T.object_detection, {"boxes": [far]}, **unknown)["boxes"][0]["x"] == 5000
    assert refused(T.object_detection, {"boxes": [box(x=-1)]}, **unknown).field == "label.boxes.0.x"
    assert refused(T.object_detection, {"boxes": [box(width=0)]}, **unknown).field == "label.boxes.0.width"


# -- polygons ----------------------------------------------------------------------------------------


def test_a_polygon_is_stored_without_repeated_or_closing_points() -> None:
    square = [[1, 1], [10, 1], [10, 1], [10, 10.5], [1, 10.5], [1, 1]]
    stored = validate(T.instance_segmentation, {"polygons": [polygon(square, "Cat")]})
    assert stored == {"polygons": [{"class_id": 1, "points": [[1, 1], [10, 1], [10, 10.5], [1, 10.5]]}]}
    assert validate(T.instance_segmentation, {"polygons": []}) == {"polygons": []}


def test_polygon_points_half_a_pixel_out_are_clamped() -> None:
    stored = validate(T.instance_segmentation, {"polygons": [polygon([[-0.5, 0], [64.5, 0], [64, 48.2]])]})
    assert stored["polygons"][0]["points"] == [[0, 0], [64, 0], [64, 48]]


@pytest.mark.parametrize(
    ("points", "field", "words"),
    [
        ([[0, 0], [5, 5]], "label.polygons.0.points", "at least 3 distinct points (got 2)"),
        ([[0, 0], [5, 5], [5, 5], [0, 0]], "label.polygons.0.points", "(got 2)"),
        ([[0, 0], [1, 1], [2, 2], [3, 3]], "label.polygons.0.points", "on one line"),
        ([[0, 0], [10, 0], [5, 1e-9]], "label.polygons.0.points", "on one line"),
        ([[0, 0], [2, 2], [2, 0], [0, 2]], "label.polygons.0.points", "encloses no area"),
        ([[0, 0], [5, 0], [70, 5]], "label.polygons.0.points.2.0", "64 px wide"),
        ([[0, 0], [5, 0], [5, 49]], "label.polygons.0.points.2.1", "48 px high"),
        ([[0, -1], [5, 0], [5, 5]], "label.polygons.0.points.0.1", "at least 0"),
    ],
)
def test_flat_or_outside_polygons_are_refused(points: list[list[float]], field: str, words: str) -> None:
    error = refused(T.instance_segmentation, {"polygons": [polygon(points)]})
    assert error.field == field
    assert words in error.message


def test_a_polygon_class_not_in_the_project_is_named() -> None:
    error = refused(T.instance_segmentation, {"polygons": [polygon([[0, 0], [5, 0], [5, 5]], "road")]})
    assert (error.field, "'road'" in error.message) == ("label.polygons.0.class", True)
