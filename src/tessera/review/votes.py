"""The vocabulary of consensus: the rule, its outcome, and the one test every rule applies to a vote.

A *decision* is settled by a share of the labelers: `count` of `total` labelers voted for one side.
That side wins when `decides(count, total, threshold)`: a strict majority (2·count > total) whose share
reaches the threshold (count / total ≥ threshold). A threshold of 0.5 (the default) therefore means "more
than half", so a tie never decides anything; a higher threshold asks for more. Shares are compared as
the floats `count / total` and `threshold`, so a threshold written as a decimal (0.6, 0.75) is reached
exactly when the fraction equals it (3 of 5, 3 of 4).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import fsum
from typing import Any

MIN_THRESHOLD = 0.5


@dataclass(frozen=True)
class ConsensusRule:
    """How much the labelers of one item must agree.

    `threshold`: the share of labelers that must agree, in [0.5, 1]; 0.5 means a strict majority.
    `iou_threshold`: boxes and polygons of two labelers are the same object when their IoU ≥ this, in (0, 1].
    """

    threshold: float = 0.5
    iou_threshold: float = 0.5

    def __post_init__(self) -> None:
        if not MIN_THRESHOLD <= self.threshold <= 1:
            raise ValueError(f"threshold must be in [0.5, 1], not {self.threshold}")
        if not 0 < self.iou_threshold <= 1:
            raise ValueError(f"iou_threshold must be in (0, 1], not {self.iou_threshold}")


@dataclass(frozen=True)
class Agreement:
    """The outcome of one item's labels under a rule.

    `agreed`: consensus was reached. `label`: the consensus label in stored form (what exports and training
    use), None when not agreed. `score`: how much the labelers agree, in [0, 1] (for sorting reviews);
    what it measures depends on the task type (see `find_consensus`).
    """

    agreed: bool
    label: dict[str, Any] | None
    score: float


def decides(count: int, total: int, threshold: float) -> bool:
    """Whether `count` votes of `total` settle a decision: a strict majority reaching `threshold`."""
    return 2 * count > total and count / total >= threshold


def share_decides(share: float, threshold: float) -> bool:
    """The same test for a share that is already a mean (semantic masks): > 0.5 and ≥ threshold."""
    return share > MIN_THRESHOLD and share >= threshold


def settle(total: int, threshold: float, *, count: int) -> tuple[bool | None, float]:
    """One presence decision: (True: in, False: out, None: undecided) and its majority share.

    `count` labelers of `total` included the thing; the other `total - count` left it out.
    """
    if decides(count, total, threshold):
        return True, count / total
    if decides(total - count, total, threshold):
        return False, (total - count) / total
    return None, max(count, total - count) / total


@dataclass(frozen=True)
class PresenceVote:
    """The outcome of presence decisions over many keys (classes of a multi-label item, NER spans)."""

    chosen: list[Any]  # the keys that are in, sorted
    decided: bool  # every key anyone used is in or out
    score: float  # the mean majority share over the keys; 1.0 when no labeler used any


def vote_presence(choices: Sequence[Iterable[Any]], threshold: float) -> PresenceVote:
    """Per key: in when its share ≥ threshold (and > 0.5), out when the share of labelers who left it
    out does; each labeler's keys count once. Keys must be hashable and sortable among themselves."""
    total = len(choices)
    counts: Counter[Any] = Counter()
    for keys in choices:
        counts.update(set(keys))
    outcomes = {key: settle(total, threshold, count=count) for key, count in counts.items()}
    chosen = sorted(key for key, (side, _) in outcomes.items() if side)
    decided = all(side is not None for side, _ in outcomes.values())
    score = fsum(share for _, share in outcomes.values()) / len(outcomes) if outcomes else 1.0
    return PresenceVote(chosen=chosen, decided=decided, score=score)


def exact_mean(values: Iterable[float]) -> float:
    """The mean, exactly the common value when all are equal, and independent of the values' order
    (the smallest value plus the correctly rounded mean of the differences to it)."""
    ordered = sorted(values)
    base = ordered[0]
    return base + fsum(value - base for value in ordered) / len(ordered)
