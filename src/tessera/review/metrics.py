"""Agreement metrics for the dashboard, per project and per labeler. Labels are in stored form.

- Classes: Krippendorff's alpha (nominal), through the `krippendorff` package; for multi-label projects,
  alpha of each class's presence, or of all presences pooled.
- Regions: the mean IoU of matched shapes (boxes, polygons) or of classes (semantic masks).
- Named entities: span F1 against the consensus.
- One labeler against the consensus: `labeler_agreement`, in [0, 1] for every task type.

A metric that is undefined (fewer than two labelers, a single value, nothing to compare) is None, never
NaN.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from itertools import combinations
from typing import Any

import krippendorff
import numpy as np

from tessera.projects.models import TaskType
from tessera.review.agreement import MULTICLASS, MULTILABEL, REGIONS, label_classes, label_spans
from tessera.review.geometry import read_shapes
from tessera.review.masks import class_ious, pixel_agreement, read_masks
from tessera.review.regions import match_pair

ClassUnit = Sequence[int | None]
ClassSetUnit = Sequence[Collection[int] | None]


def krippendorff_alpha(units: Sequence[ClassUnit]) -> float | None:
    """Nominal Krippendorff's alpha. `units` holds, per item, the class each labeler chose (None: that
    labeler did not label it). Nominal alpha depends only on how often each class was chosen per item, so
    the labelers need not be in the same positions from item to item. Items with fewer than two classes
    chosen cannot be paired and are left out (as alpha's definition does); None when no item is left or
    the items left use a single class (alpha is 0/0 then)."""
    pairable = [[value for value in unit if value is not None] for unit in units]
    pairable = [unit for unit in pairable if len(unit) >= 2]
    values = sorted({value for unit in pairable for value in unit})
    if len(values) < 2:
        return None
    column = {value: index for index, value in enumerate(values)}
    counts = np.zeros((len(pairable), len(values)), dtype=np.int64)
    for row, unit in enumerate(pairable):
        for value in unit:
            counts[row, column[value]] += 1
    alpha = float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
    return alpha if math.isfinite(alpha) else None


def krippendorff_alpha_per_class(units: Sequence[ClassSetUnit]) -> dict[int, float | None]:
    """Multi-label: for each class any labeler chose, alpha of its presence (chosen or not) per item.
    `units` holds, per item, the set of classes each labeler chose (None: did not label)."""
    return {class_id: krippendorff_alpha(_presence(units, class_id)) for class_id in _classes(units)}


def krippendorff_alpha_multilabel(units: Sequence[ClassSetUnit]) -> float | None:
    """Multi-label, one figure: alpha over every (item, class) presence, all classes pooled."""
    return krippendorff_alpha([unit for class_id in _classes(units) for unit in _presence(units, class_id)])


def _classes(units: Sequence[ClassSetUnit]) -> list[int]:
    return sorted(
        {class_id for unit in units for chosen in unit if chosen is not None for class_id in chosen}
    )


def _presence(units: Sequence[ClassSetUnit], class_id: int) -> list[list[int | None]]:
    return [[None if chosen is None else int(class_id in chosen) for chosen in unit] for unit in units]


def mean_iou(
    task_type: TaskType, labels: Sequence[Mapping[str, Any]], *, iou_threshold: float = 0.5
) -> float | None:
    """The mean IoU between the labels of one item, over every pair of labelers (pass [label, consensus]
    for one labeler against the consensus). Boxes and polygons: each pair's shapes are matched one to one
    (same class, IoU ≥ iou_threshold, greedy by IoU) and the IoUs of all matched pairs are averaged, so
    this measures how tightly matched shapes coincide, not how many are missed (`labeler_agreement`
    counts those). Semantic masks: the IoU of each class either mask uses, averaged over pairs and
    classes. None with fewer than two labels or nothing matched."""
    if task_type not in REGIONS and task_type is not TaskType.semantic_segmentation:
        raise ValueError(f"mean IoU is for boxes, polygons and masks, not {task_type}")
    if len(labels) < 2:
        return None
    if task_type is TaskType.semantic_segmentation:
        masks, _ = read_masks(labels)
        ious = [iou for a, b in combinations(masks, 2) for iou in class_ious(a, b)]
    else:
        shapes = [read_shapes(task_type, label) for label in labels]
        ious = [iou for a, b in combinations(shapes, 2) for iou in match_pair(a, b, iou_threshold)]
    return math.fsum(ious) / len(ious) if ious else None


def span_f1(label: Mapping[str, Any], consensus: Mapping[str, Any]) -> float | None:
    """F1 of one labeler's NER spans against the consensus label's, spans matching exactly (start, end
    and class): 2·|both| / (|label| + |consensus|). None when neither has any span."""
    spans, reference = label_spans(label), label_spans(consensus)
    if not spans and not reference:
        return None
    return 2 * len(spans & reference) / (len(spans) + len(reference))


def labeler_agreement(
    task_type: TaskType, label: Mapping[str, Any], consensus: Mapping[str, Any], *, iou_threshold: float = 0.5
) -> float:
    """How far one labeler's label agrees with the consensus label, in [0, 1] (1 when both are empty):
    multi-class: 1 when the classes are the same, else 0; multi-label: the Jaccard index of the class
    sets; boxes and polygons: the sum of the IoUs of the one-to-one matched shapes (as `mean_iou`)
    over the number of shapes in either label counted once per match, so a missed or extra shape counts 0;
    semantic masks: the share of the pixels either labels on which both give the same class;
    named entities: span F1."""
    if task_type in MULTICLASS:
        return 1.0 if label_classes(label) == label_classes(consensus) else 0.0
    if task_type in MULTILABEL:
        mine, theirs = label_classes(label), label_classes(consensus)
        return len(mine & theirs) / len(mine | theirs) if mine | theirs else 1.0
    if task_type in REGIONS:
        shapes, reference = read_shapes(task_type, label), read_shapes(task_type, consensus)
        matched = match_pair(shapes, reference, iou_threshold)
        count = len(shapes) + len(reference) - len(matched)
        return math.fsum(matched) / count if count else 1.0
    if task_type is TaskType.semantic_segmentation:
        masks, _ = read_masks([label, consensus])
        return pixel_agreement(masks[0], masks[1])
    if task_type is TaskType.text_ner:
        f1 = span_f1(label, consensus)
        return 1.0 if f1 is None else f1
    raise ValueError(f"no agreement measure for task type {task_type}")
