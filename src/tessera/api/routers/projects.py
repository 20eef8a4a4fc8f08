"""Projects: the core record."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from tessera.accounts.memberships import roles_in_projects
from tessera.accounts.policies import authorize
from tessera.accounts.policies.projects import ProjectPolicy
from tessera.api.deps import ActorDep, PageDep, ProjectId, SessionDep
from tessera.api.schemas.common import ERROR_RESPONSES, Page, page_response
from tessera.api.schemas.projects import (
    InstructionsOut,
    InstructionsPreview,
    LabelClassesSet,
    ProgressOut,
    ProjectCreate,
    ProjectListItem,
    ProjectOut,
    ProjectUpdate,
    TaskTypeOut,
)
from tessera.items.counts import read_counts_of
from tessera.projects.instructions import check_instructions, render_instructions
from tessera.projects.label_classes import LabelClassSpec
from tessera.projects.models import TASK_TYPE_SUMMARIES, ProjectStatus
from tessera.projects.service import (
    create_project,
    delete_project,
    get_project,
    list_projects,
    set_project_status,
    update_project,
)
from tessera.review.classes import change_label_classes

router = APIRouter(prefix="/api", tags=["projects"], responses=ERROR_RESPONSES)


@router.get("/task-types", response_model=list[TaskTypeOut])
def list_task_types(actor: ActorDep) -> list[TaskTypeOut]:
    authorize(actor, ProjectPolicy.list())
    return [
        TaskTypeOut(task_type=task_type, media=task_type.media, summary=summary)
        for task_type, summary in TASK_TYPE_SUMMARIES.items()
    ]


@router.get("/projects", response_model=Page[ProjectListItem])
def list_projects_route(actor: ActorDep, session: SessionDep, page: PageDep) -> Response:
    """The live projects you are a member of (every project, for workspace admins), by id, each with
    your role in it and its progress."""
    authorize(actor, ProjectPolicy.list())
    projects = list_projects(
        session, member_id=None if actor.is_admin else actor.user.id, after_id=page.position, limit=page.limit
    )
    ids = [project.id for project in projects]
    roles = roles_in_projects(session, user_id=actor.user.id, project_ids=ids)
    counts = read_counts_of(session, ids)
    rows = [
        ProjectListItem(
            **ProjectOut.model_validate(project).model_dump(),
            role=roles[project.id].value if project.id in roles else None,
            progress=_progress(counts[project.id]),
        )
        for project in projects
    ]
    return page_response(rows, page.limit, ProjectListItem)


def _progress(counts: dict[str, int]) -> ProgressOut:
    states = ("unlabeled", "labeled", "needs_review", "skipped")
    by_state = {state: max(0, counts.get(state, 0)) for state in states}
    return ProgressOut(total=sum(by_state.values()), **by_state)


@router.post("/projects", response_model=ProjectOut, status_code=201)
def create_project_route(body: ProjectCreate, actor: ActorDep, session: SessionDep) -> ProjectOut:
    authorize(actor, ProjectPolicy.create())
    project = create_project(
        session,
        creator=actor.user,
        name=body.name,
        task_type=body.task_type,
        label_classes=body.label_classes,
        instructions_markdown=body.instructions_markdown,
        instructions_url=body.instructions_url,
    )
    return ProjectOut.model_validate(project)


@router.get("/projects/{project_id}", response_model=ProjectOut)
def read_project(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> ProjectOut:
    project = get_project(session, project_id)
    authorize(actor, ProjectPolicy.read(project.id))
    return ProjectOut.model_validate(project)


@router.patch("/projects/{project_id}", response_model=ProjectOut)
def update_project_route(
    project_id: ProjectId, body: ProjectUpdate, actor: ActorDep, session: SessionDep
) -> ProjectOut:
    project = get_project(session, project_id)
    authorize(actor, ProjectPolicy.update(project.id))
    project = update_project(
        session,
        project,
        name=body.name,
        task_type=body.task_type,
        instructions_markdown=body.instructions_markdown,
        instructions_url=body.instructions_url,
        fields_set=frozenset(body.model_fields_set),
    )
    return ProjectOut.model_validate(project)


@router.delete("/projects/{project_id}", status_code=204)
def delete_project_route(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> None:
    """Delete the project. Its name stays reserved: no new project may take it."""
    project = get_project(session, project_id)
    authorize(actor, ProjectPolicy.delete(project.id))
    delete_project(session, project)


@router.put("/projects/{project_id}/label-classes", response_model=ProjectOut)
def set_label_classes_route(
    project_id: ProjectId, body: LabelClassesSet, actor: ActorDep, session: SessionDep
) -> ProjectOut:
    """Replace the label classes, in order: entries with an id keep (and may rename) that class, and its
    labels. Adding or removing classes after labeling started: pause first, and say what becomes of the
    labels (`labels`)."""
    project = get_project(session, project_id)
    authorize(actor, ProjectPolicy.update(project.id))
    specs = [LabelClassSpec(name=label.name, id=label.id) for label in body.label_classes]
    change_label_classes(
        session, project=project, specs=specs, labels=body.labels, changed_by_id=actor.user.id
    )
    return ProjectOut.model_validate(project)


@router.post("/projects/{project_id}/pause", response_model=ProjectOut)
def pause_project(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> ProjectOut:
    project = get_project(session, project_id)
    authorize(actor, ProjectPolicy.change_status(project.id))
    return ProjectOut.model_validate(set_project_status(session, project, ProjectStatus.paused))


@router.post("/projects/{project_id}/resume", response_model=ProjectOut)
def resume_project(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> ProjectOut:
    project = get_project(session, project_id)
    authorize(actor, ProjectPolicy.change_status(project.id))
    return ProjectOut.model_validate(set_project_status(session, project, ProjectStatus.running))


@router.post("/instructions/preview", response_model=InstructionsOut)
def preview_instructions(body: InstructionsPreview, actor: ActorDep) -> InstructionsOut:
    """Markdown instructions rendered as a project would show them, for an editor's preview (any
    signed-in user: rendering reads nothing)."""
    markdown, url = check_instructions(body.markdown, None)
    return InstructionsOut(markdown=markdown, html=render_instructions(markdown or ""), url=url)


@router.get("/projects/{project_id}/instructions", response_model=InstructionsOut)
def read_instructions(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> InstructionsOut:
    project = get_project(session, project_id)
    authorize(actor, ProjectPolicy.read_instructions(project.id))
    markdown = project.instructions_markdown
    return InstructionsOut(
        markdown=markdown,
        html=render_instructions(markdown) if markdown is not None else None,
        url=project.instructions_url,
    )
