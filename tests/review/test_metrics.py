"""Agreement metrics against values computed by hand (or published), and polygon IoU against exact areas."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tessera.projects.models import TaskType
from tessera.review.geometry import Shape, shape_iou
from tessera.review.metrics import (
    krippendorff_alpha,
    krippendorff_alpha_multilabel,
    krippendorff_alpha_per_class,
    labeler_agreement,
    mean_iou,
    span_f1,
)
from tests.review.builders import box, boxes, classes, mask, polygons, spans, square

BOXES = TaskType.object_detection

# -- Krippendorff's alpha ---------------------------------------------------------------------------------


def test_alpha_of_two_labelers_by_hand() -> None:
    """Coincidences o11 = 2, o22 = 2, o12 = o21 = 1; n1 = n2 = 3: Do = 2/6, De = 18/30, alpha = 4/9."""
    assert krippendorff_alpha([[1, 1], [2, 2], [1, 2]]) == pytest.approx(4 / 9)


def test_alpha_of_krippendorffs_published_example() -> None:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units, nominal
    alpha 0.743 (labelers missing an item are None; the labeler order inside an item does not matter)."""
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [list(unit) for unit in zip(*observers, strict=True)]
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha([list(reversed(unit)) for unit in units]) == krippendorff_alpha(units)


def test_alpha_is_one_for_perfect_agreement_over_several_classes() -> None:
    assert krippendorff_alpha([[1, 1, 1], [2, 2, None], [3, 3, 3]]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "units",
    [
        [],
        [[1, 1], [1, 1, 1]],  # a single class: alpha is 0/0
        [[1, None], [2], [None, 3]],  # no item has two labels
        [[1, 1], [2]],  # class 2 cannot be paired: only class 1 is left
    ],
)
def test_alpha_is_none_where_it_is_undefined(units: list[list[int | None]]) -> None:
    assert krippendorff_alpha(units) is None


def test_multilabel_alpha_per_class_and_pooled_by_hand() -> None:
    """Class 1 present [1,1], [1,1], [0,0]: alpha 1. Class 2 [0,0], [1,0], [0,0]: o00 = 4, o01 = o10 = 1,
    n0 = 5, n1 = 1: Do = 2/6, De = 10/30, alpha 0. Pooled: n0 = 7, n1 = 5, Do = 2/12, De = 70/132,
    alpha = 1 - 132/420 = 24/35."""
    units = [[{1}, {1}], [{1, 2}, {1}], [set(), set()], [None, {2}]]
    per_class = krippendorff_alpha_per_class(units)
    assert per_class == {1: pytest.approx(1.0), 2: pytest.approx(0.0)}
    assert krippendorff_alpha_multilabel(units) == pytest.approx(24 / 35)
    assert krippendorff_alpha_per_class([[{1}, {1}]]) == {1: None}
    assert krippendorff_alpha_multilabel([]) is None


# -- mean IoU ---------------------------------------------------------------------------------------------


def test_mean_iou_of_boxes_over_every_pair_of_labelers() -> None:
    labels = [
        boxes(box(3, 0, 0, 10, 10), box(3, 50, 50, 5, 5)),  # the small box matches nobody's
        boxes(box(3, 1, 0, 10, 10)),
        boxes(box(3, 0, 0, 10, 10)),
    ]
    assert mean_iou(BOXES, labels) == pytest.approx((9 / 11 + 1.0 + 9 / 11) / 3)
    assert mean_iou(BOXES, labels[:2], iou_threshold=0.9) is None  # nothing matched
    assert mean_iou(BOXES, labels[:1]) is None


def test_mean_iou_of_polygons_matches_one_to_one() -> None:
    labels = [polygons(square(1, 0, 0, 10), square(1, 0, 0, 10)), polygons(square(1, 2, 0, 10))]
    assert mean_iou(TaskType.instance_segmentation, labels) == pytest.approx(8 / 12, abs=1e-9)


def test_mean_iou_of_masks_averages_the_classes() -> None:
    """Class 3: 2 pixels in both of 3 in either (2/3); class 5: disjoint (0)."""
    labels = [mask([[1, 1, 0], [2, 0, 0]], [3, 5]), mask([[2, 2, 0], [2, 0, 1]], [5, 3])]
    assert mean_iou(TaskType.semantic_segmentation, labels) == pytest.approx(1 / 3)
    assert mean_iou(TaskType.semantic_segmentation, [mask([[0]], []), mask([[0]], [])]) is None


def test_mean_iou_is_for_regions_only() -> None:
    with pytest.raises(ValueError, match="mean IoU"):
        mean_iou(TaskType.text_ner, [spans(), spans()])


# -- span F1 and one labeler against the consensus --------------------------------------------------------


def test_span_f1_by_hand() -> None:
    assert span_f1(spans((0, 5, 1), (7, 9, 2)), spans((0, 5, 1))) == pytest.approx(2 / 3)
    assert span_f1(spans((0, 5, 1)), spans((0, 6, 1))) == 0.0
    assert span_f1(spans(), spans()) is None


@pytest.mark.parametrize(
    ("task_type", "label", "consensus", "expected"),
    [
        (TaskType.image_classification_multiclass, classes(3), classes(3), 1.0),
        (TaskType.image_classification_multiclass, classes(3), classes(4), 0.0),
        (TaskType.text_classification_multilabel, classes(3, 4), classes(3, 5), 1 / 3),
        (TaskType.text_classification_multilabel, classes(), classes(), 1.0),
        (BOXES, boxes(box(3, 0, 0, 10, 10), box(3, 50, 50, 10, 10)), boxes(box(3, 1, 0, 10, 10)), 9 / 11 / 2),
        (BOXES, boxes(), boxes(), 1.0),
        (TaskType.instance_segmentation, polygons(square(1, 0, 0, 10)), polygons(square(1, 5, 0, 10)), 0.0),
        (
            TaskType.semantic_segmentation,
            mask([[1, 1, 0], [2, 0, 0]], [3, 5]),
            mask([[2, 2, 0], [2, 0, 1]], [5, 3]),
            0.5,
        ),
        (TaskType.semantic_segmentation, mask([[0]], []), mask([[0]], []), 1.0),
        (TaskType.text_ner, spans((0, 5, 1), (7, 9, 2)), spans((0, 5, 1)), 2 / 3),
        (TaskType.text_ner, spans(), spans(), 1.0),
    ],
)
def test_labeler_agreement_by_hand(
    task_type: TaskType, label: dict[str, object], consensus: dict[str, object], expected: float
) -> None:
    assert labeler_agreement(task_type, label, consensus) == pytest.approx(expected)


# -- polygon IoU precision --------------------------------------------------------------------------------


def _area(points: list[tuple[float, float]]) -> float:
    return (
        abs(
            sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
        )
        / 2
    )


def _clip(subject: list[tuple[float, float]], clip: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sutherland–Hodgman: the exact intersection of a polygon with a convex counter-clockwise one."""

    def inside(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> bool:
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0

    def crossing(
        p: tuple[float, float], q: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
    ):
        d1, d2 = (q[0] - p[0], q[1] - p[1]), (b[0] - a[0], b[1] - a[1])
        t = ((a[0] - p[0]) * d2[1] - (a[1] - p[1]) * d2[0]) / (d1[0] * d2[1] - d1[1] * d2[0])
        return (p[0] + t * d1[0], p[1] + t * d1[1])

    output = subject
    for a, b in zip(clip, clip[1:] + clip[:1], strict=True):
        points, output = output, []
        for p, q in zip(points, points[1:] + points[:1], strict=True):
            if inside(q, a, b):
                if not inside(p, a, b):
                    output.append(crossing(p, q, a, b))
                output.append(q)
            elif inside(p, a, b):
                output.append(crossing(p, q, a, b))
        if not output:
            return []
    return output


coordinate = st.integers(min_value=0, max_value=100).map(float)
point = st.tuples(coordinate, coordinate)


def _ccw_triangle(points: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    (ax, ay), (bx, by), (cx, cy) = points
    return list(points) if (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) > 0 else list(reversed(points))


@settings(max_examples=200, deadline=None)
@given(st.tuples(point, point, point), st.tuples(point, point, point))
def test_polygon_iou_is_within_0_001_of_the_exact_iou_for_fair_shapes(
    first: tuple[tuple[float, float], ...], second: tuple[tuple[float, float], ...]
) -> None:
    a, b = _ccw_triangle(first), _ccw_triangle(second)
    xs, ys = [x for x, _ in a + b], [y for _, y in a + b]
    joint = (max(xs) - min(xs)) * (max(ys) - min(ys))
    assume(min(_area(a), _area(b)) >= 0.05 * joint > 0)  # slivers are outside the documented precision
    inter = _area(_clip(a, b))
    union = _area(a) + _area(b) - inter
    assert shape_iou(Shape(1, points=tuple(a)), Shape(1, points=tuple(b))) == pytest.approx(
        inter / union, abs=0.001
    )


def test_polygon_iou_of_simple_cases() -> None:
    def poly(*points: tuple[float, float]) -> Shape:
        return Shape(1, points=points)

    unit = poly((0, 0), (1, 0), (1, 1), (0, 1))
    assert shape_iou(unit, poly((0.5, 0), (1.5, 0), (1.5, 1), (0.5, 1))) == pytest.approx(1 / 3, abs=1e-9)
    assert shape_iou(
        poly((0, 0), (10, 0), (0, 10)), poly((0, 0), (10, 0), (10, 10), (0, 10))
    ) == pytest.approx(0.5)
    assert shape_iou(unit, poly((2, 2), (3, 2), (3, 3))) == 0.0
    thin = poly((0, 0), (100, 0.001), (100, 0))
    assert shape_iou(thin, thin) == 1.0
    # a bow tie, each half a triangle of area 1/4: non-zero winding fills both
    bow_tie = poly((0, 0), (1, 1), (1, 0), (0, 1))
    assert shape_iou(bow_tie, unit) == pytest.approx(0.5, abs=0.002)
