"""ML assist's settings and state per project: read with defaults, changed with checks, and the summary the
dashboard shows (the latest model, its threshold or why there is none, the next training, the realized
precision of accepted prelabels, the ML jobs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.core.errors import FieldErrors
from tessera.items.counts import read_counts
from tessera.items.models import Item, ItemState
from tessera.jobs.models import Job, JobStatus
from tessera.labels.models import Prelabel, PrelabelSource
from tessera.ml.models import MlSettings, ModelStatus, ModelVersion
from tessera.projects.models import Project, TaskType
from tessera.review.models import ClassCount, ItemLabel, LabelIssue

ML_TASK_TYPES = frozenset(
    {
        TaskType.image_classification_multiclass,
        TaskType.image_classification_multilabel,
        TaskType.text_classification_multiclass,
        TaskType.text_classification_multilabel,
    }
)
FEATURIZE_JOB, TRAIN_JOB, INFER_JOB = "ml.featurize", "ml.train", "ml.infer"
ML_JOBS = (FEATURIZE_JOB, TRAIN_JOB, INFER_JOB)
EDITABLE = {
    "enabled": bool,
    "target_precision": float,
    "first_training_labels": int,
    "min_labels_per_class": int,
    "retrain_every": int,
    "active_learning": bool,
    "clustering": bool,
}
LIMITS = {
    "target_precision": (0.5, 0.999),
    "first_training_labels": (4, 1_000_000),
    "min_labels_per_class": (2, 100_000),
    "retrain_every": (1, 1_000_000),
}


def supports_ml(project: Project) -> bool:
    return TaskType(project.task_type) in ML_TASK_TYPES


def unsupported_message(project: Project) -> str:
    return f"ML assist covers image and text classification, not {project.task_type.value}"


def default_ml_settings(project: Project) -> MlSettings:
    """The settings a project starts with: on for classification, the first training at 50 labels with
    at least 3 in each of two classes, then every 50 labels; prelabels at 95% precision."""
    return MlSettings(
        project_id=project.id,
        enabled=supports_ml(project),
        target_precision=0.95,
        first_training_labels=50,
        min_labels_per_class=3,
        retrain_every=50,
        active_learning=True,
        clustering=True,
        featurized_items=0,
        training_requested=False,
    )


def read_ml_settings(session: Session, project: Project) -> MlSettings:
    """The project's settings without writing: its row, or the defaults (not stored)."""
    return session.get(MlSettings, project.id) or default_ml_settings(project)


def ml_settings(session: Session, project: Project) -> MlSettings:
    """The project's ML settings row, created with the defaults on first use (a write transaction)."""
    row = session.get(MlSettings, project.id)
    if row is None:
        row = default_ml_settings(project)
        session.add(row)
        session.flush()
    return row


def update_ml_settings(session: Session, project: Project, changes: dict[str, Any]) -> MlSettings:
    """Apply `changes`; every bad value is named in one `Invalid`, and then nothing is changed."""
    row = ml_settings(session, project)
    bad = FieldErrors()
    accepted: dict[str, Any] = {}
    for name, value in changes.items():
        problem = _ml_setting_problem(project, name, value)
        if problem is None:
            accepted[name] = EDITABLE[name](value)
        else:
            bad.add(name, problem)
    bad.raise_if_any()
    for name, value in accepted.items():
        setattr(row, name, value)
    session.flush()
    return row


def _ml_setting_problem(project: Project, name: str, value: Any) -> str | None:
    """What is wrong with `value` for the ML setting `name`; None when nothing is."""
    kind = EDITABLE.get(name)
    if kind is None:
        return f"is not an ML setting (expected one of {', '.join(EDITABLE)})"
    if kind is bool and not isinstance(value, bool):
        return "must be true or false"
    if kind is not bool and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "must be a number"
    if kind is int and int(value) != value:
        return "must be a whole number"
    low, high = LIMITS.get(name, (None, None))
    if low is not None and high is not None and not low <= value <= high:
        return f"must be between {low} and {high}"
    if name == "enabled" and value and not supports_ml(project):
        return unsupported_message(project)
    return None


def labeled_count(session: Session, project_id: int) -> int:
    return int(read_counts(session, project_id).get(ItemState.labeled.value, 0))


LIVE_STATES = ("unlabeled", "labeled", "needs_review", "skipped")


def live_items(session: Session, project_id: int, counts: dict[str, int] | None = None) -> int:
    """The project's items not removed, from its counters."""
    counts = counts if counts is not None else read_counts(session, project_id)
    return sum(int(counts.get(state, 0)) for state in LIVE_STATES)


def class_balance_met(session: Session, project_id: int, per_class: int) -> bool:
    """At least two classes hold `per_class` labels that count each (the class-balanced minimum)."""
    full = session.scalar(
        select(func.count())
        .select_from(ClassCount)
        .where(ClassCount.project_id == project_id, ClassCount.items >= per_class)
    )
    return (full or 0) >= 2


def next_training_in(
    session: Session, project: Project, row: MlSettings, counts: dict[str, int] | None = None
) -> int | None:
    """Labels still to come before the next automatic training (0: due now; None: ML assist is off, or
    the first training waits for labels in a second class). `counts`: the project's counters, if read."""
    if not row.enabled or not supports_ml(project):
        return None
    counts = counts if counts is not None else read_counts(session, project.id)
    labeled = int(counts.get(ItemState.labeled.value, 0))
    if row.trained_at_labels is None:
        waiting = max(0, row.first_training_labels - labeled)
        if waiting == 0 and not class_balance_met(session, project.id, row.min_labels_per_class):
            return None  # enough labels, but not in two classes: no count of labels says when
        return waiting
    return max(0, row.trained_at_labels + row.retrain_every - labeled)


def active_ml_job(session: Session, project_id: int) -> Job | None:
    return session.scalar(
        select(Job)
        .where(
            Job.project_id == project_id,
            Job.kind.in_(ML_JOBS),
            Job.status.in_((JobStatus.queued, JobStatus.running)),
        )
        .limit(1)
    )


def latest_ml_job(session: Session, project_id: int) -> Job | None:
    return session.scalar(
        select(Job)
        .where(Job.project_id == project_id, Job.kind.in_(ML_JOBS))
        .order_by(Job.id.desc())
        .limit(1)
    )


def latest_model(session: Session, project_id: int, *, ready: bool = False) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.project_id == project_id)
    if ready:
        query = query.where(ModelVersion.status == ModelStatus.ready)
    return session.scalar(query.order_by(ModelVersion.version.desc()).limit(1))


def realized_precision(session: Session, project_id: int) -> dict[str, Any]:
    """How the model's prelabels fared with the labelers: accepted (kept as the label that counts) against
    corrected, over every model prelabel whose item is decided."""
    rows = session.execute(
        select(ItemLabel.prelabel_outcome, func.count())
        .join(Prelabel, Prelabel.item_id == ItemLabel.item_id)
        .where(
            ItemLabel.project_id == project_id,
            Prelabel.source == PrelabelSource.model,
            ItemLabel.prelabel_outcome.is_not(None),
        )
        .group_by(ItemLabel.prelabel_outcome)
    ).all()
    counts = {outcome: int(count) for outcome, count in rows}
    decided = counts.get("accepted", 0) + counts.get("corrected", 0)
    return {
        "accepted": counts.get("accepted", 0),
        "corrected": counts.get("corrected", 0),
        "precision": round(counts.get("accepted", 0) / decided, 4) if decided else None,
    }


def model_summary(version: ModelVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": version.status.value,
        "backbone": version.backbone,
        "trained_on": version.trained_on,
        "target_precision": version.target_precision,
        "threshold": version.threshold,
        "message": version.message,
        "labels_needed": version.labels_needed,
        "metrics": version.metrics,
        "prelabeled": version.prelabeled,
        "job_id": version.job_id,
        "created_at": version.created_at,
        "finished_at": version.finished_at,
    }


def ml_status(session: Session, project: Project) -> dict[str, Any]:
    """What the dashboard shows of ML assist."""
    row = read_ml_settings(session, project)
    latest = latest_model(session, project.id)
    job = active_ml_job(session, project.id)
    waiting_prelabels = session.scalar(
        select(func.count())
        .select_from(Prelabel)
        .join(Item, Item.id == Prelabel.item_id)
        .where(
            Prelabel.project_id == project.id,
            Prelabel.source == PrelabelSource.model,
            Item.state == ItemState.unlabeled,
            Item.prelabeled,
        )
    )
    issues = session.scalar(
        select(func.count()).select_from(LabelIssue).where(LabelIssue.project_id == project.id)
    )
    if not supports_ml(project):
        why = unsupported_message(project)
    elif not row.enabled:
        why = "ML assist is off for this project"
    elif latest is None:
        why = (
            f"the first training starts at {row.first_training_labels} labels with at least "
            f"{row.min_labels_per_class} in each of two classes"
        )
    else:
        why = latest.message
    last = latest_ml_job(session, project.id)
    failure = None
    if last is not None and last.status == JobStatus.failed and row.enabled and supports_ml(project):
        reason = (last.message or "").removeprefix("failed: ")
        failure = {"job_id": last.id, "kind": last.kind, "error": reason}
        why = f"the last ML job ({last.kind}) failed: {reason}; the scheduler tries again after 10 minutes"
    return {
        "supported": supports_ml(project),
        "settings": {name: getattr(row, name) for name in EDITABLE},
        "featurized_items": row.featurized_items,
        "labeled": labeled_count(session, project.id),
        "trained_at_labels": row.trained_at_labels,
        "next_training_in": next_training_in(session, project, row),
        "summary": why,
        "latest_model": model_summary(latest) if latest else None,
        "active_job": {"id": job.id, "kind": job.kind, "status": job.status.value, "message": job.message}
        if job
        else None,
        "last_failure": failure,
        "prelabels_waiting": int(waiting_prelabels or 0),
        "possible_label_errors": int(issues or 0),
        "realized_precision": realized_precision(session, project.id),
    }


def list_models(session: Session, project_id: int) -> list[ModelVersion]:
    return list(
        session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == project_id)
            .order_by(ModelVersion.version.desc())
        ).all()
    )
