"""Choosing the confidence threshold above which the model's predictions become prelabels, from held-out
(out-of-fold) predictions of human labels: precision against threshold, with a Clopper–Pearson lower
confidence bound on each precision, and the lowest threshold whose bound meets the project's target.

The precision that matters is that of the items the threshold pre-labels, and those are not spread over
confidence like the held-out labels: once earlier rounds have pre-labeled the sure items, the items left
crowd just above each new threshold, where predictions are right least often. So, given the confidences
the model gives the items it would pre-label (`pool`), the held-out predictions are weighted (confidence
bins of `BIN_ITEMS` of them) to the pool's spread where the pool lies lower than they do, and left as they
are where it lies higher: precision rises with confidence, so a pool surer than the held-out labels
(active learning labels the unsure items) is already served by the plain estimate, and weighting up the
few sure held-out predictions would only shrink the evidence. Formally the spread is the larger of the
two distribution functions, which both the pool's and the held-out one's dominate; the precision under
it is at most the pool's. Its bound uses Kish's effective number of held-out predictions."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

CONFIDENCE_LEVEL = 0.95  # of the one-sided lower bound on precision
MIN_PREDICTIONS = 1  # a threshold keeping fewer held-out predictions than this is never chosen
BIN_ITEMS = 25  # held-out predictions per confidence bin when weighting them to the pool


def clopper_pearson_lower(correct: float, total: float, level: float = CONFIDENCE_LEVEL) -> float:
    """The exact one-sided lower bound on a binomial proportion: with `correct` successes out of `total`,
    the true precision is at least this with probability `level` (fractional counts: an effective
    sample's)."""
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
    pool_kept: int | None = None  # items to pre-label at or above the threshold (None: not weighted)
    effective: float | None = None  # Kish's effective number of held-out predictions behind the bound

    def as_dict(self) -> dict[str, Any]:
        weighted = (
            {
                "pool_kept": self.pool_kept,
                "effective": None if self.effective is None else round(self.effective, 2),
            }
            if self.pool_kept is not None
            else {}
        )
        return weighted | {
            "threshold": round(self.threshold, 6),
            "kept": self.kept,
            "correct": self.correct,
            "precision": round(self.precision, 6),
            "lower_bound": round(self.lower_bound, 6),
            "coverage": round(self.coverage, 6),
        }


def precision_curve(
    confidence: np.ndarray[Any, Any],
    correct: np.ndarray[Any, Any],
    level: float = CONFIDENCE_LEVEL,
    pool: np.ndarray[Any, Any] | None = None,
) -> list[CurvePoint]:
    """One point per distinct confidence (from the lowest): keeping every prediction at or above it.
    With `pool` (the confidences of the items to pre-label), precision and bound are weighted to it."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    total = len(confidence)
    if total == 0:
        return []
    order = np.argsort(-confidence, kind="stable")
    sorted_conf, sorted_right = confidence[order], correct[order]
    kept_right = np.cumsum(sorted_right)
    weights = _PoolWeights(sorted_conf, sorted_right, pool) if pool is not None and len(pool) else None
    points: list[CurvePoint] = []
    # The last index of each run of equal confidences: a threshold keeps all of a tie or none of it.
    ends = np.flatnonzero(np.r_[sorted_conf[1:] != sorted_conf[:-1], True])
    for end in ends[::-1]:
        kept, right = int(end + 1), int(kept_right[end])
        point = CurvePoint(
            threshold=float(sorted_conf[end]),
            kept=kept,
            correct=right,
            precision=right / kept,
            lower_bound=clopper_pearson_lower(right, kept, level),
            coverage=kept / total,
        )
        if weights is not None:
            point = weights.weigh(point, level)
        points.append(point)
    return points


class _PoolWeights:
    """Held-out predictions weighted to the pool's confidences, bin by bin (see the module's note)."""

    def __init__(
        self,
        sorted_conf: np.ndarray[Any, Any],
        sorted_right: np.ndarray[Any, Any],
        pool: np.ndarray[Any, Any],
    ) -> None:
        ascending = sorted_conf[::-1]
        # Bin edges at every BIN_ITEMS-th held-out confidence: each bin holds the prediction at its edge.
        edges = np.unique(ascending[:: max(1, BIN_ITEMS)])[1:]
        self.conf_bin = np.searchsorted(edges, sorted_conf, side="right")
        self.right = sorted_right
        self.pool = np.sort(np.asarray(pool, dtype=np.float64))
        self.pool_bin = np.searchsorted(edges, self.pool, side="right")
        self.bins = len(edges) + 1

    def weigh(self, point: CurvePoint, level: float) -> CurvePoint:
        kept = slice(0, point.kept)  # the held-out predictions at or above the threshold
        held = np.bincount(self.conf_bin[kept], minlength=self.bins).astype(np.float64)
        right = np.bincount(self.conf_bin[kept], weights=self.right[kept], minlength=self.bins)
        start = int(np.searchsorted(self.pool, point.threshold, side="left"))  # the pool is sorted
        pooled = np.bincount(self.pool_bin[start:], minlength=self.bins).astype(np.float64)
        count = len(self.pool) - start
        if count == 0:
            return replace(point, pool_kept=0)
        # The spread to weigh to: the pool's where it lies lower than the held-out predictions, theirs
        # where it lies higher — the larger of the two distribution functions, bin by bin from the lowest.
        lower = np.maximum(np.cumsum(pooled) / count, np.cumsum(held) / point.kept)
        share = np.diff(lower, prepend=0.0)
        used = held > 0  # every bin from the threshold's up holds a held-out prediction
        precision = float((share[used] * right[used] / held[used]).sum())
        effective = float(1.0 / (share[used] ** 2 / held[used]).sum())
        return replace(
            point,
            precision=precision,
            lower_bound=clopper_pearson_lower(precision * effective, effective, level),
            pool_kept=count,
            effective=effective,
        )


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
