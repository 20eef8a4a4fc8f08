"""The prelabel threshold's statistics: the Clopper–Pearson lower bound against its closed form and its
definition, the precision curve of a hand-made set (ties kept together, lowest threshold first), the
threshold chosen on curves whose answer is known by hand, the labels still needed, and the curve's
downsampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from tessera.ml.calibration import (
    choose_threshold,
    clopper_pearson_lower,
    downsample_curve,
    labels_needed_for,
    precision_curve,
)


def test_all_correct_needs_59_predictions_for_a_95_percent_bound() -> None:
    """With every prediction right the bound is 0.05 ** (1 / n): 59 is the first n reaching 0.95."""
    assert clopper_pearson_lower(59, 59) >= 0.95
    assert clopper_pearson_lower(58, 58) < 0.95
    for n in (1, 5, 20, 58, 59, 200):
        assert clopper_pearson_lower(n, n) == pytest.approx(0.05 ** (1 / n), rel=1e-9)


def test_the_bound_meets_its_definition_when_some_are_wrong() -> None:
    """The lower bound p is where seeing at least `correct` successes becomes a 5% event."""
    for correct, total in ((45, 50), (9, 10), (1, 3), (600, 640)):
        bound = clopper_pearson_lower(correct, total)
        assert 0 < bound < correct / total
        assert binom.sf(correct - 1, total, bound) == pytest.approx(0.05, abs=1e-9)
    assert clopper_pearson_lower(45, 50) == pytest.approx(0.80117, abs=1e-5)


def test_no_success_or_no_trial_gives_a_zero_bound() -> None:
    assert clopper_pearson_lower(0, 10) == 0.0
    assert clopper_pearson_lower(0, 0) == 0.0
    assert clopper_pearson_lower(3, 0) == 0.0


def test_a_higher_confidence_level_or_fewer_trials_lowers_the_bound() -> None:
    assert clopper_pearson_lower(90, 100, level=0.99) < clopper_pearson_lower(90, 100)
    assert clopper_pearson_lower(9, 10) < clopper_pearson_lower(90, 100) < clopper_pearson_lower(900, 1000)


def test_the_precision_curve_of_a_small_set_with_ties() -> None:
    confidence = np.array([0.9, 0.8, 0.8, 0.6, 0.9, 0.3])
    correct = np.array([True, True, False, True, False, False])
    curve = precision_curve(confidence, correct)
    got = [(p.threshold, p.kept, p.correct) for p in curve]
    assert got == [(0.3, 6, 3), (0.6, 5, 3), (0.8, 4, 2), (0.9, 2, 1)]
    assert [p.precision for p in curve] == pytest.approx([0.5, 0.6, 0.5, 0.5])
    assert [p.coverage for p in curve] == pytest.approx([1.0, 5 / 6, 4 / 6, 2 / 6])
    assert [p.lower_bound for p in curve] == pytest.approx(
        [
            clopper_pearson_lower(3, 6),
            clopper_pearson_lower(3, 5),
            clopper_pearson_lower(2, 4),
            1 - np.sqrt(0.95),
        ]
    )  # the last: one of two right, 1 − √0.95
    assert curve[0].as_dict() == {
        "threshold": 0.3,
        "kept": 6,
        "correct": 3,
        "precision": 0.5,
        "lower_bound": round(clopper_pearson_lower(3, 6), 6),
        "coverage": 1.0,
    }


def test_an_empty_set_has_no_curve_and_no_threshold() -> None:
    assert precision_curve(np.zeros(0), np.zeros(0, dtype=bool)) == []
    assert choose_threshold([], 0.5) is None


def _known_set() -> tuple[np.ndarray, np.ndarray]:
    """60 right predictions at distinct confidences from 0.901 up, and errors at 0.6, 0.7 and 0.8."""
    right = 0.901 + np.arange(60) * 0.001
    confidence = np.r_[right, [0.6, 0.7, 0.8]]
    correct = np.r_[np.ones(60, dtype=bool), np.zeros(3, dtype=bool)]
    order = np.random.default_rng(1).permutation(len(confidence))  # the input's order must not matter
    return confidence[order], correct[order]


@pytest.mark.parametrize(
    ("target", "threshold", "kept"),
    [
        (0.95, 0.901, 60),  # 60/60 → 0.9513 ≥ 0.95 (61 kept with one error: 0.9246)
        (0.951, 0.901, 60),
        (0.92, 0.8, 61),  # 60/61 → 0.9246; 60/62 → 0.9019
        (0.90, 0.7, 62),  # 60/62 → 0.9019; 60/63 → 0.8815
        (0.85, 0.6, 63),
    ],
)
def test_the_lowest_threshold_whose_bound_meets_the_target_is_chosen(
    target: float, threshold: float, kept: int
) -> None:
    curve = precision_curve(*_known_set())
    chosen = choose_threshold(curve, target)
    assert chosen is not None
    assert chosen.threshold == pytest.approx(threshold)
    assert (chosen.kept, chosen.correct) == (kept, 60)
    assert chosen.lower_bound >= target


def test_no_threshold_qualifies_when_even_the_surest_predictions_are_too_few() -> None:
    """60 right in a row can prove at most 0.9513; a stricter target gets no threshold."""
    curve = precision_curve(*_known_set())
    assert choose_threshold(curve, 0.952) is None
    assert choose_threshold(curve, 0.999) is None


def test_the_chosen_threshold_agrees_with_a_brute_force_search() -> None:
    """Every threshold tried from the lowest, the bound found by bisection on the binomial's tail."""
    generator = np.random.default_rng(7)
    confidence = np.round(generator.uniform(0.3, 1.0, 400), 2)  # many ties
    correct = generator.uniform(0, 1, 400) < confidence + 0.1  # surer ones are more often right

    def bound(right: int, total: int) -> float:
        low, high = 0.0, right / total
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (middle, high) if binom.sf(right - 1, total, middle) < 0.05 else (low, middle)
        return low

    for target in (0.7, 0.8, 0.9):
        expected = None
        for threshold in np.unique(confidence):
            kept = confidence >= threshold
            if bound(int(correct[kept].sum()), int(kept.sum())) >= target - 1e-9:
                expected = threshold
                break
        chosen = choose_threshold(precision_curve(confidence, correct), target)
        assert expected is not None, target
        assert chosen is not None and chosen.threshold == pytest.approx(expected), target


def test_labels_needed_are_promised_only_when_the_precision_is_above_the_target() -> None:
    assert labels_needed_for(0.95, 0.94, 100) is None
    assert labels_needed_for(0.95, 0.0, 100) is None
    needed = [labels_needed_for(0.95, 1.0, held_out) for held_out in (0, 20, 40)]
    assert all(n is not None and n > 0 for n in needed)
    assert needed[0] > needed[1] > needed[2]  # type: ignore[operator]
    assert needed[0] is not None and needed[0] >= 59  # all right: fewer than 59 can never reach 0.95
    assert labels_needed_for(0.95, 1.0, 5000) == 0
    for precision in (0.97, 0.99):
        more = labels_needed_for(0.95, precision, 30)
        assert more is not None and more > 0
        total = more + 30  # at that many labels the precision's bound does reach the target
        assert clopper_pearson_lower(round(precision * total), total) >= 0.95
    assert labels_needed_for(0.95, 0.97, 30) > labels_needed_for(0.95, 0.99, 30)  # type: ignore[operator]


def test_downsampling_keeps_both_ends_and_the_order() -> None:
    confidence = np.linspace(0.001, 1.0, 1000)
    correct = np.arange(1000) % 3 != 0
    curve = precision_curve(confidence, correct)
    assert len(curve) == 1000
    small = downsample_curve(curve, points=50)
    assert len(small) == 50
    assert small[0] == curve[0].as_dict() and small[-1] == curve[-1].as_dict()
    thresholds = [point["threshold"] for point in small]
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == 50
    assert downsample_curve(curve[:30], points=50) == [point.as_dict() for point in curve[:30]]


def test_a_pool_spread_like_the_held_out_set_leaves_the_curve_as_it_was() -> None:
    generator = np.random.default_rng(5)
    confidence = np.round(generator.uniform(0.4, 1.0, 300), 2)
    correct = generator.uniform(0, 1, 300) < confidence
    plain = precision_curve(confidence, correct)
    weighted = precision_curve(confidence, correct, pool=confidence.copy())
    for before, after in zip(plain, weighted, strict=True):
        assert after.precision == pytest.approx(before.precision)
        assert after.effective == pytest.approx(before.kept)
        assert after.lower_bound == pytest.approx(before.lower_bound)
        assert after.pool_kept == before.kept


def test_held_out_predictions_are_weighted_to_the_pool_by_hand() -> None:
    """Held out: 50 at 0.6 (40 right), 50 at 0.95 (all right) — two bins. The pool: 90 at 0.6, 10 at 0.95.
    Its expected precision is 0.9·0.8 + 0.1·1.0 = 0.82, not the held-out 0.9, and Kish's effective number
    is 100² / (90²/50 + 10²/50) ≈ 61 held-out predictions."""
    confidence = np.r_[np.full(50, 0.6), np.full(50, 0.95)]
    correct = np.r_[np.arange(50) < 40, np.ones(50, dtype=bool)]
    pool = np.r_[np.full(90, 0.6), np.full(10, 0.95)]
    lowest, highest = precision_curve(confidence, correct, pool=pool)
    assert (lowest.kept, lowest.correct, lowest.pool_kept) == (100, 90, 100)
    assert lowest.precision == pytest.approx(0.82)
    assert lowest.effective == pytest.approx(10_000 / (90**2 / 50 + 10**2 / 50))
    assert lowest.lower_bound == pytest.approx(
        clopper_pearson_lower(0.82 * lowest.effective, lowest.effective)
    )
    assert (highest.precision, highest.pool_kept, highest.effective) == (1.0, 10, pytest.approx(50))


def test_a_pool_crowded_near_the_threshold_gets_a_threshold_that_keeps_the_target() -> None:
    """The items left to pre-label are mostly the unsure ones (earlier rounds took the sure ones). A
    prediction at confidence c is right with probability c. The unweighted threshold's precision on
    that pool falls below the target; the pool-weighted one's does not."""
    generator = np.random.default_rng(3)
    confidence = generator.uniform(0.5, 1.0, 2000)
    correct = generator.uniform(0, 1, 2000) < confidence
    pool = np.r_[generator.uniform(0.5, 0.85, 8000), generator.uniform(0.85, 1.0, 2000)]

    def true_precision(threshold: float) -> float:
        return float(pool[pool >= threshold].mean())

    for target in (0.85, 0.9):
        plain = choose_threshold(precision_curve(confidence, correct), target)
        weighted = choose_threshold(precision_curve(confidence, correct, pool=pool), target)
        assert plain is not None and weighted is not None
        assert true_precision(plain.threshold) < target
        assert true_precision(weighted.threshold) >= target
        assert weighted.pool_kept == int((pool >= weighted.threshold).sum())


def test_a_threshold_above_every_pool_item_keeps_the_held_out_figures() -> None:
    confidence = np.array([0.5, 0.7, 0.9, 0.99])
    correct = np.array([False, True, True, True])
    curve = precision_curve(confidence, correct, pool=np.array([0.6, 0.8]))
    top = curve[-1]
    assert (top.threshold, top.pool_kept, top.effective, top.precision) == (0.99, 0, None, 1.0)


def test_a_pool_surer_than_the_held_out_set_is_served_by_the_plain_estimate() -> None:
    """Active learning labels the unsure items, so the pool lies higher than the held-out predictions.
    Precision rises with confidence, so the plain estimate already errs on the safe side; weighting up
    the few sure held-out predictions would shrink the evidence to them. The curve stays as it was."""
    generator = np.random.default_rng(11)
    confidence = np.r_[generator.uniform(0.5, 0.9, 250), generator.uniform(0.9, 1.0, 50)]
    correct = generator.uniform(0, 1, 300) < confidence
    pool = np.r_[generator.uniform(0.9, 1.0, 900), generator.uniform(0.5, 0.9, 100)]
    plain = precision_curve(confidence, correct)
    weighted = precision_curve(confidence, correct, pool=pool)
    lowest_plain, lowest = plain[0], weighted[0]
    assert lowest.precision == pytest.approx(lowest_plain.precision)
    assert lowest.effective == pytest.approx(lowest_plain.kept)
    assert lowest.lower_bound == pytest.approx(lowest_plain.lower_bound)
    for before, after in zip(plain, weighted, strict=True):  # never above the plain estimate's evidence
        if after.effective is not None:
            assert after.effective <= before.kept + 1e-9
