"""When ML assist works by itself: the scheduler asks each pass, for every running project with ML assist
on, whether items wait to be embedded (then `ml.featurize`) or a training is due (then `ml.train`): the
first once the class-balanced minimum of labels exists, then every `retrain_every` new labels, or at once
when asked for. One ML job per project at a time; everything read here is counters, never labels."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Invalid
from tessera.items.counts import read_counts
from tessera.jobs.models import Job, JobStatus
from tessera.jobs.service import create_job
from tessera.ml.models import MlSettings
from tessera.ml.service import (
    FEATURIZE_JOB,
    ML_TASK_TYPES,
    TRAIN_JOB,
    active_ml_job,
    class_balance_met,
    latest_ml_job,
    live_items,
    ml_settings,
    next_training_in,
    supports_ml,
    unsupported_message,
)
from tessera.ml.training import MIN_PER_CLASS
from tessera.projects.models import Project, ProjectStatus


def due_job(session: Session, project: Project, row: MlSettings) -> str | None:
    """The ML job the project needs now, if any."""
    if not row.enabled or not supports_ml(project) or project.status != ProjectStatus.running:
        return None
    counts = read_counts(session, project.id)
    if live_items(session, project.id, counts) > row.featurized_items:
        return FEATURIZE_JOB
    if row.training_requested or next_training_in(session, project, row, counts) == 0:
        return TRAIN_JOB
    return None


RETRY_AFTER = timedelta(minutes=10)


def failed_lately(session: Session, project_id: int) -> bool:
    """The project's last ML job failed less than `RETRY_AFTER` ago (a backbone that cannot load, say):
    the scheduler waits before trying again rather than failing a job at every pass."""
    last = latest_ml_job(session, project_id)
    if last is None or last.status != JobStatus.failed:
        return False
    return (last.finished_at or last.created_at) > clock.now() - RETRY_AFTER


def start_due_ml_jobs(session: Session) -> list[int]:
    """Create the due ML job of each project that has none running; their ids."""
    started: list[int] = []
    projects = session.execute(
        select(Project, MlSettings)
        .outerjoin(MlSettings, MlSettings.project_id == Project.id)
        .where(
            Project.deleted_at.is_(None),
            Project.status == ProjectStatus.running,
            Project.task_type.in_(ML_TASK_TYPES),
        )
    ).all()
    for project, found in projects:
        row = found if found is not None else ml_settings(session, project)  # a new project: the defaults
        if not row.enabled:
            continue
        if active_ml_job(session, project.id) is not None or failed_lately(session, project.id):
            continue
        kind = due_job(session, project, row)
        if kind is not None:
            started.append(create_job(session, kind=kind, project_id=project.id).id)
    return started


def refuse_when_busy(session: Session, project_id: int) -> None:
    """409 while one of the project's ML jobs is queued or running (one at a time)."""
    running = active_ml_job(session, project_id)
    if running is not None:
        raise Conflict(
            f"an ML job is already {running.status.value} (job {running.id})", details={"job_id": running.id}
        )


def start_featurization(session: Session, project: Project, user_id: int | None) -> Job:
    """Embed what is not embedded yet, on demand."""
    if not supports_ml(project):
        raise Conflict(unsupported_message(project))
    refuse_when_busy(session, project.id)
    return create_job(session, kind=FEATURIZE_JOB, project_id=project.id, created_by_id=user_id)


def request_training(session: Session, project: Project, user_id: int | None) -> Job:
    """Train now (on demand): featurize first when items wait for embeddings; 409 while an ML job runs."""
    row = ml_settings(session, project)
    if not supports_ml(project):
        raise Conflict(unsupported_message(project))
    if len(project.label_classes) < 2:
        raise Invalid(
            "the project has one class: a model needs at least two to tell apart", field="label_classes"
        )
    if not class_balance_met(session, project.id, MIN_PER_CLASS):
        raise Conflict(
            f"no training: a model needs at least {MIN_PER_CLASS} labels in each of two classes, and "
            "the labels so far are all in one class (or there are none)"
        )
    refuse_when_busy(session, project.id)
    row.training_requested = True
    return create_job(session, kind=TRAIN_JOB, project_id=project.id, created_by_id=user_id)
