"""Choosing the confidence threshold above which the model's predictions become prelabels, from held-out
(out-of-fold) predictions of human labels: precision against threshold, with a Clopper–Pearson lower
confidence bound on each precision, and the lowest threshold whose bound meets the project's target."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

CONFIDENCE_LEVEL = 0.95  # of the one-sided lower bound on precision
MIN_PREDICTIONS = 1  # a threshold keeping fewer held-out predictions than this is never chosen


def clopper_pearson_lower(correct: int, total: int, level: float = CONFIDENCE_LEVEL) -> float:
    """The exact one-sided lower bound on a binomial proportion: with `correct` successes out of `total`,
    the true precision is at least this with probability `level`."""
    if total <= 0 or correct <= 0:
        return 0.0
    from scipy.stats import beta

    return float(beta.ppf(1.0 - level, correct, total - correct + 1))


@dataclass(frozen=True)
class CurvePoint:
    threshold: float  # predictions with confidence ≥ this are kept
    kept: int  # held-out predictions kept
    correct: int  # of those, right
    precision: float
    lower_bound: float  # Clopper–Pearson lower bound on the precision
    coverage: float  # kept / all held-out predictions

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": round(self.threshold, 6),
            "kept": self.kept,
            "correct": self.correct,
            "precision": round(self.precision, 6),
            "lower_bound": round(self.lower_bound, 6),
            "coverage": round(self.coverage, 6),
        }


def precision_curve(
    confidence: np.ndarray[Any, Any], correct: np.ndarray[Any, Any], level: float = CONFIDENCE_LEVEL
) -> list[CurvePoint]:
    """One point per distinct confidence (from the lowest): keeping every prediction at or above it."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    total = len(confidence)
    if total == 0:
        return []
    order = np.argsort(-confidence, kind="stable")
    sorted_conf, sorted_right = confidence[order], correct[order]
    kept_right = np.cumsum(sorted_right)
    points: list[CurvePoint] = []
    # The last index of each run of equal confidences: a threshold keeps all of a tie or none of it.
    ends = np.flatnonzero(np.r_[sorted_conf[1:] != sorted_conf[:-1], True])
    for end in ends[::-1]:
        kept, right = int(end + 1), int(kept_right[end])
        points.append(
            CurvePoint(
                threshold=float(sorted_conf[end]),
                kept=kept,
                correct=right,
                precision=right / kept,
                lower_bound=clopper_pearson_lower(right, kept, level),
                coverage=kept / total,
            )
        )
    return points


def choose_threshold(curve: list[CurvePoint], target: float) -> CurvePoint | None:
    """The lowest threshold whose lower bound on precision meets `target`; None when none does."""
    for point in curve:  # lowest threshold first
        if point.kept >= MIN_PREDICTIONS and point.lower_bound >= target:
            return point
    return None


def labels_needed_for(
    target: float, precision: float, held_out: int, level: float = CONFIDENCE_LEVEL
) -> int | None:
    """About how many more human labels it takes before a threshold can qualify, if the model's best
    held-out precision stays what it is: the smallest n whose Clopper–Pearson bound at that precision
    reaches the target, less what was held out. None when the precision itself is below the target (more
    labels must first make the model better; no count can be promised)."""
    if precision < target or precision <= 0:
        return None
    for exponent in range(4, 40):
        n = math.ceil(1.25**exponent)
        if clopper_pearson_lower(round(precision * n), n, level) >= target:
            return max(0, n - held_out)
    return None


def downsample_curve(curve: list[CurvePoint], points: int = 200) -> list[dict[str, Any]]:
    """At most `points` points of the curve, for storing and drawing; the ends are kept."""
    if len(curve) <= points:
        return [point.as_dict() for point in curve]
    picks = np.unique(np.linspace(0, len(curve) - 1, points).round().astype(int))
    return [curve[i].as_dict() for i in picks]
