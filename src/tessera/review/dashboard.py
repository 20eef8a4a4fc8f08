"""The dashboard's numbers, read from counters and small indexes, never by scanning labels: items per
state, the incomplete ones split, the label and labeler distributions, the queue by task kind, and the
labeling rate per hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.accounts.models import User
from tessera.core import clock
from tessera.items.counts import CLAIMED, WAITING, read_counts
from tessera.items.models import PRELABELED, Item, ItemState
from tessera.projects.models import LabelClass, Project
from tessera.queue.settings import labeling_settings
from tessera.review.models import ClassCount, LabelerCount, RateCount

RATE_HOURS = 48


def read_dashboard(session: Session, project: Project) -> dict[str, Any]:
    counts = read_counts(session, project.id)
    unlabeled, claimed, waiting = (
        counts.get(name, 0) for name in (ItemState.unlabeled.value, CLAIMED, WAITING)
    )
    return {
        "items": {state.value: counts.get(state.value, 0) for state in ItemState},
        "incomplete": {
            "total": unlabeled,
            "not_in_a_task": unlabeled - claimed - waiting,
            "in_a_leased_task": claimed,
            "queued_for_more_labels": waiting,
        },
        "labels_per_class": _classes(session, project),
        "labelers": _labelers(session, project.id),
        "queue_by_kind": _queue(session, project, unlabeled - claimed),
        "rate_per_hour": _rate(session, project.id),
    }


def _classes(session: Session, project: Project) -> list[dict[str, Any]]:
    counted: dict[int, int] = {
        int(row.class_id): int(row.items)
        for row in session.execute(
            select(ClassCount.class_id, ClassCount.items).where(ClassCount.project_id == project.id)
        )
    }
    classes = session.scalars(
        select(LabelClass).where(LabelClass.project_id == project.id).order_by(LabelClass.position)
    )
    return [{"id": label.id, "name": label.name, "items": int(counted.get(label.id, 0))} for label in classes]


def _labelers(session: Session, project_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(User.id, User.username, LabelerCount.items, LabelerCount.seconds)
        .join(User, User.id == LabelerCount.user_id)
        .where(LabelerCount.project_id == project_id)
        .order_by(LabelerCount.items.desc(), User.id)
    )
    return [
        {
            "user_id": user_id,
            "username": username,
            "labels": int(items),
            "seconds_per_label": round(float(seconds) / items, 2) if items else None,
        }
        for user_id, username, items, seconds in rows
    ]


def _queue(session: Session, project: Project, free: int) -> dict[str, Any]:
    """Items in no task, by the kind of task they will go out in, and as pages of the project's size
    (pre-labeled and clustered items are counted through their partial indexes)."""
    waiting = (Item.project_id == project.id, Item.state == ItemState.unlabeled, Item.claim_count == 0)
    prelabeled = int(session.scalar(select(func.count()).where(*waiting, PRELABELED)) or 0)
    clustered = int(
        session.scalar(
            select(func.count()).where(*waiting, Item.cluster_id.is_not(None), Item.prelabeled.is_(False))
        )
        or 0
    )
    page = labeling_settings(session, project).page_size
    items = {
        "prelabeled": prelabeled,
        "clustered": clustered,
        "manual": max(0, free - prelabeled - clustered),
    }
    return {"items": items, "tasks": {kind: -(-count // page) for kind, count in items.items()}}


def _rate(session: Session, project_id: int) -> list[dict[str, Any]]:
    since = clock.now() - timedelta(hours=RATE_HOURS)
    rows = session.execute(
        select(RateCount.hour, RateCount.labels)
        .where(RateCount.project_id == project_id, RateCount.hour >= since)
        .order_by(RateCount.hour)
    )
    return [{"hour": hour.isoformat(), "labels": int(labels)} for hour, labels in rows]
