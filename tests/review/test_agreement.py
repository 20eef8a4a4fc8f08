"""find_consensus, rule by rule, on hand-made labels: agreement, disagreement, ties, thresholds, merges."""

from __future__ import annotations

import pytest

from tessera.projects.models import TaskType
from tessera.review.agreement import Agreement, ConsensusRule, find_consensus
from tests.review.builders import box, boxes, class_map, classes, mask, polygons, spans, square

MAJORITY = ConsensusRule()
MULTICLASS = TaskType.image_classification_multiclass
MULTILABEL = TaskType.text_classification_multilabel
BOXES = TaskType.object_detection
POLYGONS = TaskType.instance_segmentation
MASKS = TaskType.semantic_segmentation
NER = TaskType.text_ner


def test_a_single_label_agrees_with_itself_and_is_copied() -> None:
    label = boxes(box(3, 1, 2, 3, 4))
    result = find_consensus(BOXES, [label], MAJORITY)
    assert result == Agreement(agreed=True, label=label, score=1.0)
    assert result.label is not label
    assert result.label is not None and result.label["boxes"] is not label["boxes"]


def test_no_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one label"):
        find_consensus(MULTICLASS, [], MAJORITY)


@pytest.mark.parametrize(("threshold", "iou_threshold"), [(0.49, 0.5), (1.01, 0.5), (0.5, 0.0), (0.5, 1.5)])
def test_a_rule_out_of_range_is_refused(threshold: float, iou_threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        ConsensusRule(threshold=threshold, iou_threshold=iou_threshold)


# -- multi-class ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "threshold", "expected", "score"),
    [
        ([3, 3], 0.5, [3], 1.0),
        ([3, 5], 0.5, None, 0.5),  # a tie never agrees
        ([3, 3, 5], 0.5, [3], 2 / 3),
        ([3, 5, 7], 0.5, None, 1 / 3),
        ([3, 3, 5, 5], 0.5, None, 0.5),  # tie between two classes
        ([3, 3, 3, 5], 0.75, [3], 0.75),  # 3 of 4 reaches 0.75 exactly
        ([3, 3, 5], 0.75, None, 2 / 3),
        ([3, 3, 3, 5, 5], 0.6, [3], 0.6),  # 3 of 5 reaches 0.6 exactly
        ([3, 3, 5], 1.0, None, 2 / 3),
        ([3, 3, 3], 1.0, [3], 1.0),
    ],
)
def test_multiclass_takes_the_class_of_a_strict_majority_reaching_the_threshold(
    chosen: list[int], threshold: float, expected: list[int] | None, score: float
) -> None:
    labels = [classes(class_id) for class_id in chosen]
    result = find_consensus(MULTICLASS, labels, ConsensusRule(threshold=threshold))
    assert result.agreed is (expected is not None)
    assert result.label == (None if expected is None else classes(*expected))
    assert result.score == pytest.approx(score)


def test_text_multiclass_follows_the_same_rule() -> None:
    result = find_consensus(TaskType.text_classification_multiclass, [classes(4), classes(4)], MAJORITY)
    assert result == Agreement(agreed=True, label=classes(4), score=1.0)


# -- multi-label ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "threshold", "expected", "score"),
    [
        ([[3, 5], [3], [5, 3]], 0.5, [3, 5], (1 + 2 / 3) / 2),
        ([[3], [3, 7], [3]], 0.5, [3], (1 + 2 / 3) / 2),  # 7 is out: 2 of 3 left it out
        ([[3], [5]], 0.5, None, 0.5),  # 3 and 5 each 1 of 2: undecided
        ([[3, 5], [3]], 0.5, None, (1 + 0.5) / 2),
        ([[], []], 0.5, [], 1.0),  # nobody chose anything: agreed on nothing
        ([[3, 5], [3, 5], [3, 5], [3]], 0.75, [3, 5], (1 + 0.75) / 2),
        ([[3, 5], [3, 5], [3], [3]], 0.75, None, (1 + 0.5) / 2),
        ([[3, 5], [3], [3]], 0.75, None, (1 + 2 / 3) / 2),  # 5 neither in (1/3) nor out (2/3 < 0.75)
    ],
)
def test_multilabel_decides_each_class_in_or_out(
    chosen: list[list[int]], threshold: float, expected: list[int] | None, score: float
) -> None:
    labels = [classes(*class_ids) for class_ids in chosen]
    result = find_consensus(MULTILABEL, labels, ConsensusRule(threshold=threshold))
    assert result.agreed is (expected is not None)
    assert result.label == (None if expected is None else classes(*expected))
    assert result.score == pytest.approx(score)


# -- boxes ------------------------------------------------------------------------------------------------


def test_matching_boxes_merge_into_their_mean() -> None:
    labels = [boxes(box(3, 0, 0, 10, 10)), boxes(box(3, 1, 0, 10, 10))]  # IoU 90/110
    result = find_consensus(BOXES, labels, MAJORITY)
    assert result.agreed
    assert result.label == boxes(box(3, 0.5, 0, 10, 10))
    assert result.score == pytest.approx(90 / 110)


def test_boxes_that_overlap_too_little_or_differ_in_class_do_not_match() -> None:
    apart = [boxes(box(3, 0, 0, 10, 10)), boxes(box(3, 6, 0, 10, 10))]  # IoU 0.25
    other_class = [boxes(box(3, 0, 0, 10, 10)), boxes(box(4, 0, 0, 10, 10))]
    for labels in (apart, other_class):
        assert find_consensus(BOXES, labels, MAJORITY) == Agreement(agreed=False, label=None, score=0.5)


def test_the_iou_threshold_decides_what_matches() -> None:
    labels = [boxes(box(3, 0, 0, 10, 10)), boxes(box(3, 1, 0, 10, 10))]  # IoU 0.818
    assert not find_consensus(BOXES, labels, ConsensusRule(iou_threshold=0.9)).agreed
    assert find_consensus(BOXES, labels, ConsensusRule(iou_threshold=0.8)).agreed


def test_a_box_drawn_by_a_minority_is_left_out() -> None:
    labels = [
        boxes(box(3, 0, 0, 10, 10), box(5, 100, 100, 20, 20)),
        boxes(box(3, 0, 2, 10, 10)),
        boxes(box(3, 0, 1, 10, 10)),
    ]
    result = find_consensus(BOXES, labels, MAJORITY)
    assert result.agreed
    assert result.label == boxes(box(3, 0, 1, 10, 10))


def test_empty_labels_agree_on_no_box() -> None:
    assert find_consensus(BOXES, [boxes(), boxes()], MAJORITY) == Agreement(True, boxes(), 1.0)


def test_a_group_never_holds_two_shapes_that_do_not_match() -> None:
    """A~B and B~C at 7/13, but A and C only at 0.25: B joins A (first in canonical order), C stays alone,
    and is out (2 of 3 labelers left it out)."""
    labels = [boxes(box(3, 6, 0, 10, 10)), boxes(box(3, 3, 0, 10, 10)), boxes(box(3, 0, 0, 10, 10))]
    result = find_consensus(BOXES, labels, MAJORITY)
    assert result.agreed
    assert result.label == boxes(box(3, 1.5, 0, 10, 10))
    assert result.score == pytest.approx((2 * 7 / 13 / 3 + 2 / 3) / 2)


def test_a_labeler_contributes_one_shape_per_group() -> None:
    """Two labelers; the first drew the same object twice: one copy matches, the other is undecided."""
    labels = [boxes(box(3, 0, 0, 10, 10), box(3, 0, 0, 10, 10)), boxes(box(3, 0, 0, 10, 10))]
    result = find_consensus(BOXES, labels, MAJORITY)
    assert not result.agreed
    assert result.score == pytest.approx((1.0 + 0.5) / 2)


# -- polygons ---------------------------------------------------------------------------------------------


def test_a_polygon_group_becomes_its_medoid() -> None:
    labels = [polygons(square(2, 0, 0, 10)), polygons(square(2, 2, 0, 10)), polygons(square(2, 1, 0, 10))]
    result = find_consensus(POLYGONS, labels, MAJORITY)
    assert result.agreed
    assert result.label == polygons(square(2, 1, 0, 10))
    assert result.score == pytest.approx((9 / 11 + 9 / 11 + 2 / 3) / 3, abs=1e-9)


def test_polygons_far_apart_do_not_agree() -> None:
    labels = [polygons(square(2, 0, 0, 10)), polygons(square(2, 20, 0, 10))]
    assert find_consensus(POLYGONS, labels, MAJORITY) == Agreement(False, None, 0.5)


# -- semantic masks ---------------------------------------------------------------------------------------


def test_masks_take_the_per_pixel_majority_across_class_numberings() -> None:
    """Labeled pixels: two agree (share 1), two disagree (share 0.5): score 0.75."""
    first = mask([[1, 1, 0], [2, 0, 0]], [3, 5])  # classes [[3, 3, 0], [5, 0, 0]]
    second = mask([[2, 2, 0], [2, 0, 1]], [5, 3])  # classes [[3, 3, 0], [3, 0, 5]]
    result = find_consensus(MASKS, [first, second], MAJORITY)
    assert result.agreed
    assert result.score == pytest.approx(0.75)
    assert result.label is not None and result.label["class_ids"] == [3]
    assert class_map(result.label) == [[3, 3, 0], [0, 0, 0]]
    assert find_consensus(MASKS, [first, second], ConsensusRule(threshold=0.8)).label is None


def test_three_masks_keep_pixels_with_a_strict_majority() -> None:
    labels = [mask([[1, 1, 1]], [3, 5]), mask([[1, 2, 0]], [3, 5]), mask([[1, 2, 2]], [3, 5])]
    result = find_consensus(MASKS, labels, MAJORITY)
    assert result.score == pytest.approx((1 + 2 / 3 + 1 / 3) / 3)
    assert result.label is not None and class_map(result.label) == [[3, 5, 0]]


def test_masks_that_disagree_everywhere_do_not_agree() -> None:
    labels = [mask([[1, 1]], [3]), mask([[0, 1]], [4])]
    assert find_consensus(MASKS, labels, MAJORITY) == Agreement(False, None, 0.5)


def test_empty_masks_agree_on_an_empty_mask() -> None:
    result = find_consensus(MASKS, [mask([[0, 0]], []), mask([[0, 0]], [7])], MAJORITY)
    assert result.agreed and result.score == 1.0
    assert result.label is not None and result.label["class_ids"] == []
    assert class_map(result.label) == [[0, 0]]


def test_masks_of_different_sizes_are_an_error() -> None:
    with pytest.raises(ValueError, match="different sizes"):
        find_consensus(MASKS, [mask([[1, 1]], [3]), mask([[1], [1]], [3])], MAJORITY)


# -- named entities ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "expected", "score"),
    [
        ([[(0, 5, 1)], [(0, 5, 1)]], [(0, 5, 1)], 1.0),
        ([[(0, 5, 1)], [(0, 6, 1)]], None, 0.5),  # boundaries differ: two spans, each 1 of 2
        (
            [[(0, 5, 1), (7, 9, 2)], [(0, 5, 1)], [(7, 9, 2), (0, 5, 1)]],
            [(0, 5, 1), (7, 9, 2)],
            (1 + 2 / 3) / 2,
        ),
        ([[(0, 5, 1)], [(0, 5, 2)], [(0, 5, 1)]], [(0, 5, 1)], (2 / 3 + 2 / 3) / 2),  # class 2 is out
        ([[], []], [], 1.0),
    ],
)
def test_ner_decides_each_exact_span(
    chosen: list[list[tuple[int, int, int]]], expected: list[tuple[int, int, int]] | None, score: float
) -> None:
    result = find_consensus(NER, [spans(*entries) for entries in chosen], MAJORITY)
    assert result.agreed is (expected is not None)
    assert result.label == (None if expected is None else spans(*expected))
    assert result.score == pytest.approx(score)
