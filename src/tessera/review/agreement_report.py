"""Agreement of a project's labelers, from the items that more than one labeler labeled (consensus
projects): the project's figure — Krippendorff's alpha for classes, mean IoU for regions and masks, span
F1 for named entities — and each labeler's mean agreement with the consensus.

It reads labels, so it looks at the most recent items only (`max_items`, default 2,000): a sample that
is quick to compute on a project of any size, and says how many items it used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from statistics import fmean
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.labels.models import Annotation, AnnotationStatus
from tessera.projects.models import Project, TaskType
from tessera.queue.settings import labeling_settings
from tessera.review.agreement import MULTICLASS, MULTILABEL, ConsensusRule, find_consensus, label_classes
from tessera.review.metrics import (
    krippendorff_alpha,
    krippendorff_alpha_multilabel,
    labeler_agreement,
    mean_iou,
    span_f1,
)
from tessera.review.models import ItemLabel

MAX_ITEMS = 2000
Labels = dict[int, dict[str, Any]]  # labeler id -> stored label, for one item


def agreement_report(session: Session, project: Project, *, max_items: int = MAX_ITEMS) -> dict[str, Any]:
    items = _multi_labeled(session, project.id, max_items)
    settings = labeling_settings(session, project)
    rule = ConsensusRule(threshold=settings.agreement_threshold, iou_threshold=settings.iou_threshold)
    consensus = {
        item_id: _consensus(session, project.task_type, item_id, labels, rule)
        for item_id, labels in items.items()
    }
    per_labeler: dict[int, list[float]] = defaultdict(list)
    for item_id, labels in items.items():
        for user_id, label in labels.items():
            per_labeler[user_id].append(
                labeler_agreement(
                    project.task_type, label, consensus[item_id], iou_threshold=rule.iou_threshold
                )
            )
    metric, value = _project_metric(project.task_type, items, consensus, rule.iou_threshold)
    return {
        "items_compared": len(items),
        "metric": metric,
        "value": value,
        "labelers": [
            {"user_id": user_id, "items": len(scores), "agreement_with_consensus": round(fmean(scores), 4)}
            for user_id, scores in sorted(per_labeler.items())
        ],
    }


def _multi_labeled(session: Session, project_id: int, max_items: int) -> dict[int, Labels]:
    active = (Annotation.project_id == project_id, Annotation.status == AnnotationStatus.active)
    recent = (
        select(Annotation.item_id)
        .where(*active)
        .group_by(Annotation.item_id)
        .having(func.count() >= 2)
        .order_by(func.max(Annotation.id).desc())
        .limit(max_items)
    )
    items: dict[int, Labels] = defaultdict(dict)
    rows = session.execute(
        select(Annotation.item_id, Annotation.user_id, Annotation.payload).where(
            *active, Annotation.item_id.in_(recent)
        )
    )
    for item_id, user_id, payload in rows:
        items[item_id][user_id] = dict(payload)
    return dict(items)


def _consensus(
    session: Session, task_type: TaskType, item_id: int, labels: Labels, rule: ConsensusRule
) -> dict[str, Any]:
    """The item's label that counts; without one (no agreement yet), the majority view by the rule at 0.5."""
    decided = session.get(ItemLabel, item_id)
    if decided is not None:
        return dict(decided.payload)
    loose = ConsensusRule(threshold=0.5, iou_threshold=rule.iou_threshold)
    found = find_consensus(task_type, list(labels.values()), loose)
    return found.label or next(iter(labels.values()))


def _project_metric(
    task_type: TaskType,
    items: Mapping[int, Labels],
    consensus: Mapping[int, dict[str, Any]],
    iou_threshold: float,
) -> tuple[str, float | None]:
    if task_type in MULTICLASS:
        units = [[_one_class(label) for label in labels.values()] for labels in items.values()]
        return "krippendorff_alpha", _rounded(krippendorff_alpha(units))
    if task_type in MULTILABEL:
        sets = [[frozenset(label_classes(label)) for label in labels.values()] for labels in items.values()]
        return "krippendorff_alpha", _rounded(krippendorff_alpha_multilabel(sets))
    if task_type == TaskType.text_ner:
        scores = [
            score
            for item_id, labels in items.items()
            for label in labels.values()
            if (score := span_f1(label, consensus[item_id])) is not None
        ]
        return "span_f1", _rounded(fmean(scores) if scores else None)
    ious = [
        value
        for labels in items.values()
        if (value := mean_iou(task_type, list(labels.values()), iou_threshold=iou_threshold)) is not None
    ]
    return "mean_iou", _rounded(fmean(ious) if ious else None)


def _one_class(label: Mapping[str, Any]) -> int | None:
    classes = label_classes(label)
    return min(classes) if classes else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
