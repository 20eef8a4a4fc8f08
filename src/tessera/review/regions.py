"""Consensus on boxes (object detection) and polygons (instance segmentation), and matching for metrics.

Grouping. The labelers' shapes are put in a canonical order first (each label's shapes sorted, then the
labels sorted by their shapes), so that no result depends on the order of the labelers or of their
shapes. Two shapes of different labelers *match* when they have the same class and IoU ≥ iou_threshold.
Groups start as single shapes; the matching pairs are taken by decreasing IoU (ties in canonical order)
and a pair joins its two groups when (a) no labeler would have two shapes in the joined group and (b)
every shape of one group matches every shape of the other (complete linkage: a group never holds two
shapes that do not match, as chaining would allow).

Deciding. A group of k shapes among n labelers is *in* the consensus when `decides(k, n, threshold)`
(k / n ≥ threshold and 2k > n) and *out* when n − k labelers do; the item is agreed when every group is
in or out. With the default rule and 2 labelers every shape must be matched by the other labeler; with 3,
shapes drawn by 2 are in and shapes drawn by 1 are out.

Merging. A box group becomes the mean box (the mean of x, y, width and height, so the mean of each
corner); a polygon group becomes its *medoid*, the member with the highest mean IoU to the others (ties in
canonical order), because averaging polygons with different numbers of points has no good meaning.

Score. Each group scores max(k · q, n − k) / n, where q is the mean IoU of its pairs (1 for a lone
shape): the share of labelers on the winning side, with the side that drew it discounted by how well
their shapes coincide. The item's score is the mean over groups, 1.0 when nobody drew anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from math import fsum
from typing import Any

from tessera.projects.models import TaskType
from tessera.review.geometry import Shape, matching_pairs, read_shapes, stored_shape
from tessera.review.votes import Agreement, ConsensusRule, exact_mean, settle

Node = tuple[int, int]  # (labeler, shape) in canonical order
Pair = tuple[Node, Node]  # the lower node first
SHAPES_KEY = {TaskType.object_detection: "boxes", TaskType.instance_segmentation: "polygons"}


def canonical_shapes(task_type: TaskType, labels: Sequence[Mapping[str, Any]]) -> list[list[Shape]]:
    """Each label's shapes, sorted, and the labels sorted by their shapes."""
    per_labeler = [read_shapes(task_type, label) for label in labels]
    return sorted(per_labeler, key=lambda shapes: [shape.key for shape in shapes])


def region_consensus(
    task_type: TaskType, labels: Sequence[Mapping[str, Any]], rule: ConsensusRule
) -> Agreement:
    """Boxes or polygons of 2 or more labelers: grouped, decided and merged as the module describes."""
    shapes = canonical_shapes(task_type, labels)
    groups, ious = group_shapes(shapes, rule.iou_threshold)
    total, decided = len(shapes), True
    chosen: list[Shape] = []
    scores: list[float] = []
    for group in groups:
        side, _ = settle(total, rule.threshold, count=len(group))
        decided = decided and side is not None
        cohesion = _mean([ious[pair] for pair in combinations(group, 2)])
        scores.append(max(len(group) * cohesion, total - len(group)) / total)
        if side:
            chosen.append(_merge([shapes[labeler][index] for labeler, index in group], group, ious))
    score = _mean(scores)
    if not decided:
        return Agreement(agreed=False, label=None, score=score)
    merged = [stored_shape(shape) for shape in sorted(chosen, key=lambda shape: shape.key)]
    return Agreement(agreed=True, label={SHAPES_KEY[task_type]: merged}, score=score)


def group_shapes(
    shapes: Sequence[Sequence[Shape]], iou_threshold: float
) -> tuple[list[list[Node]], dict[Pair, float]]:
    """The groups (each a sorted list of nodes, the groups sorted) and the IoU of every matching pair."""
    ious: dict[Pair, float] = {}
    for first, second in combinations(range(len(shapes)), 2):
        for i, j, iou in matching_pairs(shapes[first], shapes[second], iou_threshold):
            ious[((first, i), (second, j))] = iou
    group_of = {
        (labeler, index): (labeler, index) for labeler, own in enumerate(shapes) for index in range(len(own))
    }
    members: dict[Node, list[Node]] = {node: [node] for node in group_of}
    for (left, right), _ in sorted(ious.items(), key=lambda item: (-item[1], item[0])):
        keep, drop = sorted((group_of[left], group_of[right]))
        if keep != drop and _can_join(members[keep], members[drop], ious):
            for node in members.pop(drop):
                group_of[node] = keep
                members[keep].append(node)
    return sorted(sorted(group) for group in members.values()), ious


def _can_join(group: list[Node], other: list[Node], ious: Mapping[Pair, float]) -> bool:
    if {labeler for labeler, _ in group} & {labeler for labeler, _ in other}:
        return False
    return all((min(a, b), max(a, b)) in ious for a in group for b in other)


def _merge(members: list[Shape], group: list[Node], ious: Mapping[Pair, float]) -> Shape:
    """The mean box, or the medoid polygon (highest mean IoU to the other members, first on ties)."""
    if members[0].box is not None:
        corners = [shape.box for shape in members if shape.box is not None]
        x, y, width, height = (exact_mean(values) for values in zip(*corners, strict=True))
        return Shape(members[0].class_id, box=(x, y, width, height))
    closeness = [
        _mean([ious[(min(node, other), max(node, other))] for other in group if other != node])
        for node in group
    ]
    return members[closeness.index(max(closeness))]


def match_pair(a: Sequence[Shape], b: Sequence[Shape], iou_threshold: float) -> list[float]:
    """One-to-one matching of two labels' shapes (same class, IoU ≥ iou_threshold), greedy by
    decreasing IoU; the IoUs of the matched pairs."""
    taken_a: set[int] = set()
    taken_b: set[int] = set()
    matched: list[float] = []
    for i, j, iou in sorted(matching_pairs(a, b, iou_threshold), key=lambda m: (-m[2], m[0], m[1])):
        if i not in taken_a and j not in taken_b:
            taken_a.add(i)
            taken_b.add(j)
            matched.append(iou)
    return matched


def _mean(values: Sequence[float]) -> float:
    return fsum(values) / len(values) if values else 1.0
