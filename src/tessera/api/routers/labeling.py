"""Labeling: a project's labeling settings, the next task, submitting and skipping, giving a task back,
and going back to change one's labels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import Actor, authorize
from tessera.accounts.policies.labeling import LabelingPolicy
from tessera.api.deps import (
    ActorDep,
    DatabaseDep,
    ProjectId,
    SessionDep,
    SettingsDep,
    UserId,
    in_write_transaction,
)
from tessera.api.schemas.common import ERROR_RESPONSES, json_response
from tessera.api.schemas.labeling import (
    AnnotationOut,
    AssignmentIn,
    AssignmentOut,
    LabelChange,
    LabelingSettingsChange,
    LabelingSettingsOut,
    MyAnnotationOut,
    NextTask,
    SkipIn,
    SubmissionIn,
    SubmittedTaskOut,
    TaskItemOut,
    TaskOut,
)
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.media import read_image_size
from tessera.labels.models import Annotation, AnnotationStatus, Prelabel
from tessera.labels.validation import render_label
from tessera.projects.models import Project
from tessera.projects.service import get_project
from tessera.queue.assignment import assign_items, list_assignments, unassign_items
from tessera.queue.lookahead import warm_next_pages
from tessera.queue.models import ItemOutcome, Task
from tessera.queue.service import claim_task, get_task, open_task_of, renew_lease, task_items
from tessera.queue.settings import (
    SettingsChange,
    labeling_project,
    labeling_settings,
    update_labeling_settings,
)
from tessera.review.listing import labeler_annotations
from tessera.review.workflow import (
    ImageSize,
    Submission,
    change_label,
    get_annotation,
    release_task,
    skip_item,
    submit_labels,
)

router = APIRouter(prefix="/api", tags=["labeling"], responses=ERROR_RESPONSES)
TaskId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Task id")]
AnnotationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Annotation id")]


def class_names(project: Project) -> dict[int, str]:
    return {label_class.id: label_class.name for label_class in project.label_classes}


def image_reader(session: Session, settings: Settings) -> ImageSize:
    return lambda item: read_image_size(session, settings, item)


# The answer to every claim and submit: built once, run with parameters.
_LABELS_IN_TASK = select(Annotation.item_id, Annotation.payload).where(
    Annotation.task_id == bindparam("task_id"), Annotation.status == AnnotationStatus.active
)
_PRELABELS_OF = select(Prelabel.item_id, Prelabel.payload).where(
    Prelabel.item_id.in_(bindparam("ids", expanding=True))
)


def task_out(session: Session, task: Task, project: Project | None = None) -> TaskOut:
    """The task as the labeling tool shows it: its items, this labeler's labels and the pre-filled ones."""
    project = project or get_project(session, task.project_id)
    names = class_names(project)
    listed = task_items(session, task)
    # Only a submitted item has a label of this task (a page just handed out has none: no query).
    # Rows, not results: dict() would take a result for a mapping (it has keys()).
    mine: dict[int, dict[str, Any]] = (
        dict(session.execute(_LABELS_IN_TASK, {"task_id": task.id}).all())
        if any(row.outcome == ItemOutcome.submitted for row in listed)
        else {}
    )
    ids = [row.id for row in listed]
    offered: dict[int, dict[str, Any]] = dict(session.execute(_PRELABELS_OF, {"ids": ids}).all())
    items = [
        TaskItemOut(
            id=row.id, path=row.path, row_index=row.row_index, text=row.text, width=row.width,
            height=row.height, health=row.health, outcome=row.outcome,
            label=render_label(mine[row.id], names) if row.id in mine else None,
            prelabel=render_label(offered[row.id], names) if row.id in offered else None,
        )
        for row in listed
    ]  # fmt: skip
    return TaskOut(
        id=task.id, project_id=task.project_id, kind=task.kind, status=task.status,
        lease_until=task.lease_until, items=items,
    )  # fmt: skip


def annotation_out(annotation: Annotation, names: dict[int, str]) -> AnnotationOut:
    return AnnotationOut(
        id=annotation.id, item_id=annotation.item_id, user_id=annotation.user_id,
        status=annotation.status.value, label=render_label(annotation.payload, names),
        created_at=annotation.created_at, updated_at=annotation.updated_at,
    )  # fmt: skip


@router.get("/projects/{project_id}/labeling-settings", response_model=LabelingSettingsOut)
def read_labeling_settings(
    project_id: ProjectId, actor: ActorDep, session: SessionDep
) -> LabelingSettingsOut:
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.label(project.id))
    return LabelingSettingsOut.model_validate(labeling_settings(session, project))


@router.put("/projects/{project_id}/labeling-settings", response_model=LabelingSettingsOut)
def update_labeling_settings_route(
    project_id: ProjectId, body: LabelingSettingsChange, actor: ActorDep, session: SessionDep
) -> LabelingSettingsOut:
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.manage(project.id))
    change = SettingsChange(**body.model_dump())
    return LabelingSettingsOut.model_validate(update_labeling_settings(session, project, change))


@router.post(
    "/projects/{project_id}/tasks/next",
    response_model=TaskOut,
    responses={204: {"description": "No item left for you"}},
)
async def claim_next_task(
    project_id: ProjectId,
    body: NextTask,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> Response:
    """Your open task (its lease renewed), or the next page of items under a new lease; 204 when no item
    is left for you; 409 while the project is paused."""

    def claim(session: Session, actor: Actor) -> tuple[Project, TaskOut | None]:
        project = labeling_project(session, project_id)
        authorize(actor, LabelingPolicy.label(project.id))
        task = claim_task(session, project=project, user_id=actor.user.id, kind=body.kind)
        return project, task_out(session, task, project) if task is not None else None

    project, shown = await in_write_transaction(request, background, claim)
    if shown is None:
        return Response(status_code=204)
    _look_ahead(background, database, settings, project, shown)
    return json_response(shown)


def _look_ahead(
    background: BackgroundTasks,
    database: Database,
    settings: Settings,
    project: Project,
    task: TaskOut | None,
) -> None:
    """After the answer: the thumbnails of the pages after this one, for image grids."""
    if task is not None and task.items and project.task_type.value.startswith("image_classification"):
        handed_out = [item.id for item in task.items]
        background.add_task(warm_next_pages, database, settings, project.id, handed_out, len(handed_out))


def _task_for(session: Session, actor: Any, task_id: int) -> Task:
    task = get_task(session, task_id)
    authorize(actor, LabelingPolicy.label(task.project_id))
    return task


@router.get("/tasks/{task_id}", response_model=TaskOut)
def read_task(task_id: TaskId, actor: ActorDep, session: SessionDep) -> TaskOut:
    task = _task_for(session, actor, task_id)
    if task.user_id != actor.user.id:
        authorize(actor, LabelingPolicy.review(task.project_id))
    return task_out(session, task)


@router.post("/tasks/{task_id}/submit", response_model=SubmittedTaskOut)
async def submit_task_labels(
    task_id: TaskId,
    body: SubmissionIn,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> Response:
    """Submit labels for items of your task (all or some); 409 "lease expired" when it ran out, 422 naming
    a class that is not in the project. A retry with the same idempotency key changes nothing. With
    `next`, your next task comes back too (`next_task`), claimed in the same transaction."""

    def submit(session: Session, actor: Actor) -> tuple[Project, SubmittedTaskOut]:
        task = _task_for(session, actor, task_id)
        project = labeling_project(session, task.project_id)
        submit_labels(
            session,
            project=project,
            task=task,
            user_id=actor.user.id,
            submissions=[Submission(entry.item_id, entry.label, entry.seconds) for entry in body.labels],
            idempotency_key=body.idempotency_key,
            image_size=image_reader(session, settings),
        )
        submitted = task_out(session, task, project)
        following = claim_task(session, project=project, user_id=actor.user.id) if body.next else None
        next_task = task_out(session, following, project) if following else None
        return project, SubmittedTaskOut(**dict(submitted), next_task=next_task)

    project, submitted = await in_write_transaction(request, background, submit)
    _look_ahead(background, database, settings, project, submitted.next_task)
    return json_response(submitted)


@router.post("/tasks/{task_id}/skip", response_model=TaskOut)
def skip_task_item(task_id: TaskId, body: SkipIn, actor: ActorDep, session: SessionDep) -> TaskOut:
    task = _task_for(session, actor, task_id)
    project = get_project(session, task.project_id)
    skip_item(session, project=project, task=task, user_id=actor.user.id, item_id=body.item_id)
    return task_out(session, task, project)


@router.post("/tasks/{task_id}/release", response_model=TaskOut)
def release_task_route(task_id: TaskId, actor: ActorDep, session: SessionDep) -> TaskOut:
    """Give the task back: its unfinished items return to the queue (a manager may release anyone's)."""
    task = _task_for(session, actor, task_id)
    manager = actor.has_role(task.project_id, ProjectRole.manager)
    release_task(session, task=task, user_id=actor.user.id, by_manager=manager)
    return task_out(session, task)


@router.post("/tasks/{task_id}/renew", response_model=TaskOut)
def renew_task_lease(task_id: TaskId, actor: ActorDep, session: SessionDep) -> TaskOut:
    task = open_task_of(session, _task_for(session, actor, task_id), actor.user.id)
    renew_lease(session, task)
    return task_out(session, task)


@router.get("/projects/{project_id}/my-annotations", response_model=list[MyAnnotationOut])
def list_my_annotations(
    project_id: ProjectId,
    actor: ActorDep,
    session: SessionDep,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[MyAnnotationOut]:
    """Your labels in the project, newest first, with their item (pass the last id as `before_id` for older
    ones): to go back to earlier tasks and change a label until it is reviewed."""
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.label(project.id))
    names = class_names(project)
    rows = labeler_annotations(session, project.id, actor.user.id, before_id=before_id, limit=limit)
    return [
        MyAnnotationOut(
            **annotation_out(annotation, names).model_dump(), path=path, text=text, item_state=state
        )
        for annotation, path, text, state in rows
    ]


@router.put("/annotations/{annotation_id}", response_model=AnnotationOut)
def change_annotation(
    annotation_id: AnnotationId,
    body: LabelChange,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> AnnotationOut:
    """Change your label of an item, until a reviewer has decided it."""
    annotation = get_annotation(session, annotation_id)
    authorize(actor, LabelingPolicy.label(annotation.project_id))
    project = get_project(session, annotation.project_id)
    change_label(
        session,
        project=project,
        annotation=annotation,
        user_id=actor.user.id,
        label=body.label,
        image_size=image_reader(session, settings),
    )
    return annotation_out(annotation, class_names(project))


@router.get("/projects/{project_id}/assignments", response_model=list[AssignmentOut])
def list_assignments_route(
    project_id: ProjectId, actor: ActorDep, session: SessionDep
) -> list[AssignmentOut]:
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.manage(project.id))
    assigned = list_assignments(session, project.id)
    return [AssignmentOut(user_id=user_id, items=items) for user_id, items in sorted(assigned.items())]


@router.post("/projects/{project_id}/assignments", response_model=AssignmentOut)
def assign_items_route(
    project_id: ProjectId, body: AssignmentIn, actor: ActorDep, session: SessionDep
) -> AssignmentOut:
    """Assign items, or a share of the queue (`count`), to a named labeler: they get them first, and no
    one else does."""
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.manage(project.id))
    assign_items(
        session, project_id=project.id, user_id=body.user_id, item_ids=body.item_ids, count=body.count
    )
    return AssignmentOut(
        user_id=body.user_id, items=list_assignments(session, project.id).get(body.user_id, 0)
    )


@router.delete("/projects/{project_id}/assignments/{user_id}", status_code=204)
def unassign_items_route(
    project_id: ProjectId, user_id: UserId, actor: ActorDep, session: SessionDep
) -> None:
    """Put the labeler's assigned items that still need labels back in everyone's queue."""
    project = get_project(session, project_id)
    authorize(actor, LabelingPolicy.manage(project.id))
    unassign_items(session, project_id=project.id, user_id=user_id)
