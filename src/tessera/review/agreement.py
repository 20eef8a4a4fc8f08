"""Consensus: whether the labels several labelers gave one item agree, and the label they agree on.

`find_consensus(task_type, labels, rule)` takes the labels in their stored form (class ids), one per
labeler, in any order (the result never depends on it), and returns an `Agreement`. Every rule rests on
`votes.decides`: a side wins with a strict majority whose share reaches `rule.threshold` (so the default
0.5 means more than half, and a tie never agrees). Per task type:

- One label (consensus off): agreed, that label, score 1.
- Multi-class classification: each labeler's choice is the set of classes of its label (normally one).
  Agreed when the most common choice decides; the consensus is that choice. Score: the share of the most
  common choice. With 2 labelers both must agree; with 3, two.
- Multi-label classification: each class any labeler used is *in* when the labelers who chose it decide,
  *out* when those who left it out do. Agreed when every such class is in or out; the consensus holds
  the classes that are in. Score: the mean over those classes of the larger side's share (1 when no
  labeler chose any class).
- Object detection and instance segmentation: shapes matched into groups by class and IoU, each group in
  or out like a multi-label class, merged (boxes: the mean box; polygons: the medoid) — `regions`.
- Semantic segmentation: per-pixel majority, agreed on the mean majority share — `masks`.
- Named entities: spans are (start, end, class_id) compared exactly, each in or out like a multi-label
  class; agreed when every span anyone marked is decided. Score as for multi-label classes.

Every consensus label is in stored form with its entries sorted (classes by id, spans by start, end and
class, shapes by class and coordinates), so equal votes give equal labels.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tessera.projects.models import TaskType
from tessera.review.masks import mask_consensus
from tessera.review.regions import region_consensus
from tessera.review.votes import Agreement, ConsensusRule, decides, vote_presence

__all__ = ["Agreement", "ConsensusRule", "find_consensus", "label_classes", "label_spans"]

MULTICLASS = frozenset({TaskType.image_classification_multiclass, TaskType.text_classification_multiclass})
MULTILABEL = frozenset({TaskType.image_classification_multilabel, TaskType.text_classification_multilabel})
REGIONS = frozenset({TaskType.object_detection, TaskType.instance_segmentation})

Span = tuple[int, int, int]  # start, end, class_id


def find_consensus(
    task_type: TaskType, labels: Sequence[Mapping[str, Any]], rule: ConsensusRule
) -> Agreement:
    """The consensus of one item's labels (one per labeler) under `rule`, as the module describes.
    Raises ValueError when `labels` is empty."""
    if not labels:
        raise ValueError("consensus needs at least one label")
    if len(labels) == 1:
        return Agreement(agreed=True, label=copy.deepcopy(dict(labels[0])), score=1.0)
    if task_type in MULTICLASS:
        return _multiclass(labels, rule)
    if task_type in MULTILABEL:
        vote = vote_presence([label_classes(label) for label in labels], rule.threshold)
        return _presence_agreement(vote.decided, {"classes": vote.chosen}, vote.score)
    if task_type in REGIONS:
        return region_consensus(task_type, labels, rule)
    if task_type is TaskType.semantic_segmentation:
        return mask_consensus(labels, rule)
    if task_type is TaskType.text_ner:
        vote = vote_presence([label_spans(label) for label in labels], rule.threshold)
        spans = [{"start": start, "end": end, "class_id": class_id} for start, end, class_id in vote.chosen]
        return _presence_agreement(vote.decided, {"spans": spans}, vote.score)
    raise ValueError(f"no consensus rule for task type {task_type}")


def label_classes(label: Mapping[str, Any]) -> frozenset[int]:
    """The class ids of a classification label (`{"classes": [...]}`), as a set."""
    return frozenset(int(class_id) for class_id in label.get("classes") or [])


def label_spans(label: Mapping[str, Any]) -> frozenset[Span]:
    """The (start, end, class_id) spans of an NER label, as a set."""
    return frozenset(
        (int(span["start"]), int(span["end"]), int(span["class_id"])) for span in label.get("spans") or []
    )


def _multiclass(labels: Sequence[Mapping[str, Any]], rule: ConsensusRule) -> Agreement:
    choices = Counter(tuple(sorted(label_classes(label))) for label in labels)
    top = max(choices.values())
    score = top / len(labels)
    if not decides(top, len(labels), rule.threshold):
        return Agreement(agreed=False, label=None, score=score)
    (choice,) = (choice for choice, count in choices.items() if count == top)
    return Agreement(agreed=True, label={"classes": list(choice)}, score=score)


def _presence_agreement(decided: bool, label: dict[str, Any], score: float) -> Agreement:
    return Agreement(agreed=decided, label=label if decided else None, score=score)
