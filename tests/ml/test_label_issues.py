"""Possible label errors: cleanlab's confident learning, and a disagreement above the round's calibrated
prelabel threshold, which catches what cleanlab's near-1 per-class thresholds let through."""

from __future__ import annotations

import numpy as np

from tessera.ml.training import TrainingData, find_label_issues


def _separable(wrong_row: list[float]) -> TrainingData:
    """30 items of three classes the model is 99.5% sure of, and a 31st labeled class 1 for which the
    out-of-fold probabilities are `wrong_row`; its oof matrix as `vectors`."""
    targets = np.array([k % 3 for k in range(30)] + [1])
    oof = np.full((31, 3), 0.0025)
    oof[np.arange(30), targets[:30]] = 0.995
    oof[30] = wrong_row
    return TrainingData(np.arange(100, 131), oof, targets, [7, 8, 9], None)


def test_a_label_the_model_contradicts_above_the_threshold_is_flagged_with_its_suggestion() -> None:
    data = _separable([0.968, 0.011, 0.021])
    assert find_label_issues(data, data.vectors, False) == []  # confident learning alone: the known miss
    [issue] = find_label_issues(data, data.vectors, False, threshold=0.9)
    assert issue["item_id"] == 130 and issue["suggested"] == [7] and issue["score"] < 0.05


def test_a_disagreement_below_the_threshold_or_with_no_threshold_is_left_to_cleanlab() -> None:
    data = _separable([0.968, 0.011, 0.021])
    assert find_label_issues(data, data.vectors, False, threshold=0.97) == []
    assert find_label_issues(data, data.vectors, False, threshold=None) == []


def test_labels_the_model_agrees_with_are_never_flagged_however_low_the_threshold() -> None:
    data = _separable([0.01, 0.98, 0.01])
    assert find_label_issues(data, data.vectors, False, threshold=0.0) == []


def test_cleanlab_flags_a_label_contradicted_above_its_class_threshold() -> None:
    data = _separable([0.998, 0.001, 0.001])
    assert [issue["item_id"] for issue in find_label_issues(data, data.vectors, False)] == [130]


def test_multilabel_sets_the_model_contradicts_above_the_threshold_are_flagged() -> None:
    targets = np.zeros((31, 3), dtype=np.int64)
    oof = np.full((31, 3), 0.01)
    for k in range(30):
        targets[k, k % 3] = 1
        oof[k, k % 3] = 0.99
    targets[30, 1] = 1  # labeled {8}; the model says {7} at 0.96 and not 8 at 0.95
    oof[30] = [0.96, 0.05, 0.01]
    data = TrainingData(np.arange(100, 131), oof, targets, [7, 8, 9], None)
    flagged = find_label_issues(data, oof, True, threshold=0.9)
    assert [(issue["item_id"], issue["suggested"]) for issue in flagged] == [(130, [7])]
