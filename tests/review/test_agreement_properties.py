"""Properties of every consensus rule: identical labels agree with that label, the labelers' order never
changes the result, scores and agreements lie in [0, 1]."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.projects.models import TaskType
from tessera.review.agreement import ConsensusRule, find_consensus
from tessera.review.metrics import labeler_agreement
from tests.review.builders import box, boxes, class_map, classes, mask, polygon, polygons, spans

Label = dict[str, Any]

class_id = st.integers(min_value=1, max_value=3)
small = st.integers(min_value=0, max_value=40).map(float)
side = st.integers(min_value=1, max_value=30).map(float)


@st.composite
def _mask(draw: st.DrawFn) -> Label:
    class_ids = draw(st.lists(st.integers(min_value=1, max_value=4), unique=True, max_size=3))
    pixel = st.integers(min_value=0, max_value=len(class_ids))
    return mask(draw(st.lists(st.lists(pixel, min_size=3, max_size=3), min_size=2, max_size=2)), class_ids)


LABELS: dict[TaskType, st.SearchStrategy[Label]] = {
    TaskType.image_classification_multiclass: class_id.map(classes),
    TaskType.text_classification_multiclass: class_id.map(classes),
    TaskType.image_classification_multilabel: st.sets(class_id).map(lambda chosen: classes(*sorted(chosen))),
    TaskType.text_classification_multilabel: st.sets(class_id).map(lambda chosen: classes(*chosen)),
    TaskType.object_detection: st.lists(st.builds(box, class_id, small, small, side, side), max_size=3).map(
        lambda entries: boxes(*entries)
    ),
    TaskType.instance_segmentation: st.lists(
        st.builds(polygon, class_id, *[st.tuples(small, small)] * 4), max_size=2
    ).map(lambda entries: polygons(*entries)),
    TaskType.semantic_segmentation: _mask(),
    TaskType.text_ner: st.lists(
        st.tuples(st.integers(0, 8), st.integers(1, 4), class_id).map(lambda s: (s[0], s[0] + s[1], s[2])),
        max_size=3,
    ).map(lambda entries: spans(*entries)),
}
TASK_TYPES = list(LABELS)
rules = st.builds(
    ConsensusRule,
    threshold=st.sampled_from([0.5, 0.6, 2 / 3, 0.75, 1.0]),
    iou_threshold=st.sampled_from([0.3, 0.5, 0.9, 1.0]),
)


def _normalized(task_type: TaskType, label: Label) -> Any:
    """What a label means, independent of how it is written (order, duplicates, mask numbering)."""
    if "classes" in label:
        return sorted(set(label["classes"]))
    if "spans" in label:
        return sorted({(s["start"], s["end"], s["class_id"]) for s in label["spans"]})
    if "boxes" in label:
        return sorted((b["class_id"], b["x"], b["y"], b["width"], b["height"]) for b in label["boxes"])
    if "polygons" in label:
        return sorted((p["class_id"], [tuple(point) for point in p["points"]]) for p in label["polygons"])
    return class_map(label)


@pytest.mark.parametrize("task_type", TASK_TYPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), count=st.integers(min_value=2, max_value=5), rule=rules)
def test_identical_labels_always_agree_with_that_label(
    task_type: TaskType, data: st.DataObject, count: int, rule: ConsensusRule
) -> None:
    label = data.draw(LABELS[task_type])
    result = find_consensus(task_type, [label] * count, rule)
    assert result.agreed
    assert result.score == pytest.approx(1.0)
    assert result.label is not None
    assert _normalized(task_type, result.label) == _normalized(task_type, label)
    assert labeler_agreement(task_type, label, result.label) == pytest.approx(1.0)


@pytest.mark.parametrize("task_type", TASK_TYPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), rule=rules)
def test_the_order_of_labelers_never_changes_the_result(
    task_type: TaskType, data: st.DataObject, rule: ConsensusRule
) -> None:
    labels = data.draw(st.lists(LABELS[task_type], min_size=2, max_size=4))
    if task_type is TaskType.semantic_segmentation:
        labels = data.draw(st.lists(st.just(labels[0]) | _mask(), min_size=2, max_size=4))
    shuffled = data.draw(st.permutations(labels))
    assert find_consensus(task_type, shuffled, rule) == find_consensus(task_type, labels, rule)


@pytest.mark.parametrize("task_type", TASK_TYPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), rule=rules)
def test_scores_and_agreements_lie_in_0_1(
    task_type: TaskType, data: st.DataObject, rule: ConsensusRule
) -> None:
    labels = data.draw(st.lists(LABELS[task_type], min_size=1, max_size=4))
    result = find_consensus(task_type, labels, rule)
    assert 0.0 <= result.score <= 1.0
    assert result.agreed is (result.label is not None)
    if result.label is not None:
        for label in labels:
            assert (
                0.0
                <= labeler_agreement(task_type, label, result.label, iou_threshold=rule.iou_threshold)
                <= 1.0
            )
