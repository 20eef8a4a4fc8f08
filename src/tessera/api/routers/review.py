"""Review: the items to look at, one item with every labeler's label side by side, a reviewer's decision
(checked against the item's version), and the dashboard's numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tessera.accounts.policies import authorize
from tessera.accounts.policies.labeling import LabelingPolicy
from tessera.api.deps import ActorDep, ItemId, PageDep, ProjectId, SessionDep, SettingsDep
from tessera.api.routers.labeling import annotation_out, class_names, image_reader
from tessera.api.schemas.common import ERROR_RESPONSES, Page, page_response
from tessera.api.schemas.labeling import LabelEventOut, ReviewDecision, ReviewItemOut
from tessera.core.errors import Invalid
from tessera.ingest.media import get_item
from tessera.items.models import Item, ItemState
from tessera.labels.validation import render_label
from tessera.projects.service import get_project
from tessera.review.agreement_report import agreement_report
from tessera.review.dashboard import read_dashboard
from tessera.review.decisions import accept_skip, reject_item, set_item_label
from tessera.review.history import item_history
from tessera.review.listing import ReviewFilter, item_annotations, list_review_items
from tessera.review.models import ItemLabel, LabelIssue

router = APIRouter(prefix="/api", tags=["review"], responses=ERROR_RESPONSES)


def suggestion(session: Session, item_id: int, names: dict[int, str]) -> dict[str, Any] | None:
    """What ML assist would label the item, when it found the label likely wrong."""
    issue = session.get(LabelIssue, item_id)
    if issue is None:
        return None
    return {
        "suggested": [names.get(class_id) for class_id in issue.suggested_class_ids],
        "label_quality": round(issue.score, 4),
        "model_version": issue.model_version,
    }


def review_item_out(
    session: Session, item: Item, names: dict[int, str], *, with_labels: bool
) -> ReviewItemOut:
    label = session.get(ItemLabel, item.id)
    given = [annotation_out(a, names) for a in item_annotations(session, item.id)] if with_labels else []
    return ReviewItemOut(
        id=item.id, path=item.path, row_index=item.row_index, text=item.text, state=item.state,
        version=item.version, label_count=item.label_count,
        label=render_label(label.payload, names) if label else None,
        label_source=label.source.value if label else None, agreement=label.agreement if label else None,
        prelabel_outcome=label.prelabel_outcome if label else None,
        possible_label_error=suggestion(session, item.id, names),
        annotations=given,
    )  # fmt: skip


@router.get("/projects/{project_id}/review/items", response_model=Page[ReviewItemOut])
def list_review_items_route(
    project_id: ProjectId,
    actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    state: Annotated[
        list[ItemState] | None, Query(description="labeled, needs_review, skipped (default: all three)")
    ] = None,
    labeler_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Items this user labeled")
    ] = None,
    class_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Items whose label uses this class")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Label decided at or after (ISO 8601, with zone)")
    ] = None,
    until: Annotated[datetime | None, Query(description="Label decided before")] = None,
    prelabel: Annotated[
        Literal["accepted", "corrected"] | None,
        Query(description="Items offered a pre-filled label whose label kept it, or changed it"),
    ] = None,
    possible_label_error: Annotated[
        bool,
        Query(description="Only items ML assist found likely mislabeled (confident learning, docs/ml.md)"),
    ] = False,
) -> Response:
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.review(project.id))
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise Invalid("must carry a time zone (e.g. 2026-01-01T00:00:00Z)", field=name)
    wanted = ReviewFilter(
        states=state or ReviewFilter.states,
        labeler_id=labeler_id,
        class_id=class_id,
        since=since,
        prelabel=prelabel,
        until=until,
        possible_label_error=possible_label_error,
    )
    rows = list_review_items(session, project.id, wanted, after_id=page.position, limit=page.limit)
    names = class_names(project)
    return page_response(
        [review_item_out(session, item, names, with_labels=False) for item in rows], page.limit, ReviewItemOut
    )


@router.get("/items/{item_id}/review", response_model=ReviewItemOut)
def read_review_item(item_id: ItemId, actor: ActorDep, session: SessionDep) -> ReviewItemOut:
    """The item with its label that counts and every labeler's label side by side (rejected ones too)."""
    item = get_item(session, item_id)
    authorize(actor, LabelingPolicy.review(item.project_id))
    return review_item_out(
        session, item, class_names(get_project(session, item.project_id)), with_labels=True
    )


@router.get("/items/{item_id}/history", response_model=Page[LabelEventOut])
def read_item_history(item_id: ItemId, actor: ActorDep, session: SessionDep, page: PageDep) -> Response:
    """Every change to the item's labels, oldest first: who, when, what (submit, change, skip, reject,
    accept_skip, set, import, start_over), the label before and after. Rejected and replaced labels stay
    here."""
    item = get_item(session, item_id)
    authorize(actor, LabelingPolicy.review(item.project_id))
    names = class_names(get_project(session, item.project_id))
    events = [
        LabelEventOut(
            id=row.id, item_id=row.item_id, user_id=row.user_id, username=row.username, action=row.action,
            before=render_label(row.before, names) if row.before is not None else None,
            after=render_label(row.after, names) if row.after is not None else None, at=row.at,
        )
        for row in item_history(session, item.id, after_id=page.position, limit=page.limit)
    ]  # fmt: skip
    return page_response(events, page.limit, LabelEventOut)


@router.post("/items/{item_id}/review", response_model=ReviewItemOut)
def decide_review_item(
    item_id: ItemId,
    body: ReviewDecision,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ReviewItemOut:
    """reject (labels taken back, item to the queue), accept_skip (a skipped item leaves the project), or
    set_label (the reviewer's label counts). 409 with the item's state when it changed since `version`."""
    item = get_item(session, item_id)
    authorize(actor, LabelingPolicy.review(item.project_id))
    project = get_project(session, item.project_id)
    if body.action == "reject":
        reject_item(session, item=item, version=body.version, reviewer_id=actor.user.id)
    elif body.action == "accept_skip":
        accept_skip(session, item=item, version=body.version, reviewer_id=actor.user.id)
    else:
        if body.label is None:
            raise Invalid("set_label needs the label", field="label")
        set_item_label(
            session, project=project, item=item, version=body.version, reviewer_id=actor.user.id,
            label=body.label, image_size=image_reader(session, settings),
        )  # fmt: skip
    return review_item_out(session, item, class_names(project), with_labels=True)


@router.get("/projects/{project_id}/dashboard")
def read_dashboard_route(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> dict[str, Any]:
    """Items labeled, skipped, needing review and incomplete (not in a task, in a leased task, queued for
    more labels); labels per class; labelers with their labels and time per label; the queue by task
    kind; labels per hour over the last two days. Read from counters, never by scanning labels."""
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.review(project.id))
    return read_dashboard(session, project)


@router.get("/projects/{project_id}/agreement")
def read_agreement(
    project_id: ProjectId,
    actor: ActorDep,
    session: SessionDep,
    max_items: Annotated[int, Query(ge=1, le=20_000, description="The most recent items to compare")] = 2000,
) -> dict[str, Any]:
    """How well the labelers agree, on the most recent items labeled by more than one: Krippendorff's
    alpha for classes, mean IoU for regions and masks, span F1 for named entities; and each labeler's mean
    agreement with the consensus."""
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.review(project.id))
    return agreement_report(session, project, max_items=max_items)
