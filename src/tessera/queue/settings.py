"""A project's labeling settings: the page a labeler gets (1, 4, 6 or 9 items: grids for image
classification, one item for everything drawn or read), the lease, and consensus."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.util import identity_key

from tessera.core.errors import FieldErrors
from tessera.projects.models import Project, TaskType
from tessera.projects.service import get_project
from tessera.queue.models import PAGE_SIZES, LabelingSettings

GRID_TASKS = frozenset({TaskType.image_classification_multiclass, TaskType.image_classification_multilabel})
MAX_LABELERS = 10


# A claim and a submit read the project, its classes and its labeling settings: one statement, built once.
_PROJECT_FOR_LABELING = (
    select(Project, LabelingSettings)
    .outerjoin(LabelingSettings, LabelingSettings.project_id == Project.id)
    .where(Project.id == bindparam("id"))
    .options(joinedload(Project.label_classes))
)
_HELD_SETTINGS = "tessera_labeling_settings_held"  # session.info: rows kept alive for `labeling_settings`


def labeling_project(session: Session, project_id: int) -> Project:
    """`get_project`, with the project's labeling settings loaded by the same statement, so that
    `labeling_settings` then answers from the session (one round trip a request fewer)."""
    if session.identity_map.get(identity_key(Project, project_id)) is None:
        for _, row in session.execute(_PROJECT_FOR_LABELING, {"id": project_id}).unique():
            if row is not None:  # the identity map holds it weakly: the session keeps it for its life
                session.info.setdefault(_HELD_SETTINGS, []).append(row)
    return get_project(session, project_id)


def labeling_settings(session: Session, project: Project) -> LabelingSettings:
    """The project's settings, made with the defaults on first use (4 items a page for image
    classification, else 1; a 15-minute lease; no consensus)."""
    row = session.get(LabelingSettings, project.id)
    if row is not None:
        return row
    row = LabelingSettings(
        project_id=project.id,
        page_size=4 if project.task_type in GRID_TASKS else 1,
        lease_seconds=900,
        min_labelers=1,
        max_labelers=1,
        agreement_threshold=0.5,
        iou_threshold=0.5,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # made by another request meanwhile
        existing = session.get(LabelingSettings, project.id)
        if existing is None:
            raise
        return existing
    return row


@dataclass(frozen=True)
class SettingsChange:
    page_size: int | None = None
    lease_seconds: int | None = None
    min_labelers: int | None = None
    max_labelers: int | None = None
    agreement_threshold: float | None = None
    iou_threshold: float | None = None


def update_labeling_settings(session: Session, project: Project, change: SettingsChange) -> LabelingSettings:
    """Apply `change`; every bad value is named in one `Invalid`, and then nothing is changed."""
    row = labeling_settings(session, project)
    bad = FieldErrors()
    page_size = row.page_size if change.page_size is None else change.page_size
    if page_size not in PAGE_SIZES:
        bad.add("page_size", f"must be one of {', '.join(map(str, PAGE_SIZES))}")
    elif page_size != 1 and project.task_type not in GRID_TASKS:
        bad.add("page_size", f"a {project.task_type.value} task shows one item at a time")
    lease = row.lease_seconds if change.lease_seconds is None else change.lease_seconds
    if not 60 <= lease <= 86_400:
        bad.add("lease_seconds", "must be between 60 seconds and a day")
    low = row.min_labelers if change.min_labelers is None else change.min_labelers
    high = row.max_labelers if change.max_labelers is None else change.max_labelers
    if not 1 <= low <= MAX_LABELERS:
        bad.add("min_labelers", f"must be between 1 and {MAX_LABELERS}")
        if not 1 <= high <= MAX_LABELERS:
            bad.add("max_labelers", f"must be between 1 and {MAX_LABELERS}")
    elif not low <= high <= MAX_LABELERS:
        bad.add("max_labelers", f"must be between min_labelers ({low}) and {MAX_LABELERS}")
    threshold = row.agreement_threshold if change.agreement_threshold is None else change.agreement_threshold
    if not 0.5 <= threshold <= 1:
        bad.add("agreement_threshold", "must be between 0.5 and 1 (the share of labelers that must agree)")
    iou = row.iou_threshold if change.iou_threshold is None else change.iou_threshold
    if not 0 < iou <= 1:
        bad.add("iou_threshold", "must be above 0 and at most 1")
    bad.raise_if_any()
    row.page_size, row.lease_seconds, row.min_labelers, row.max_labelers = page_size, lease, low, high
    row.agreement_threshold, row.iou_threshold = threshold, iou
    session.flush()
    return row
