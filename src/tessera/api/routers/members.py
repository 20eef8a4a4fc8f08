"""A project's members and their roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from tessera.accounts.memberships import list_members, remove_member, role_in_project, set_member
from tessera.accounts.policies import authorize
from tessera.accounts.policies.members import MemberPolicy
from tessera.accounts.service import get_user, get_user_by_username
from tessera.api.deps import ActorDep, ProjectId, SessionDep, UserId
from tessera.api.schemas.accounts import MemberOut, MemberSet, UserOut
from tessera.api.schemas.common import ERROR_RESPONSES
from tessera.projects.service import get_project

router = APIRouter(prefix="/api/projects/{project_id}/members", tags=["members"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[MemberOut])
def list_members_route(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> list[MemberOut]:
    project = get_project(session, project_id)
    authorize(actor, MemberPolicy.list(project.id))
    return [
        MemberOut(user=UserOut.model_validate(user), role=membership.role)
        for membership, user in list_members(session, project_id=project.id)
    ]


@router.put("/{user_id}", response_model=MemberOut)
def set_member_route(
    project_id: ProjectId, user_id: UserId, body: MemberSet, actor: ActorDep, session: SessionDep
) -> MemberOut:
    """Add a user to the project with a role, or change their role."""
    project = get_project(session, project_id)
    user = get_user(session, user_id)
    current = role_in_project(session, user_id=user.id, project_id=project.id)
    authorize(actor, MemberPolicy.change(project.id, granted=body.role, current=current))
    membership = set_member(session, project_id=project.id, user=user, role=body.role)
    return MemberOut(user=UserOut.model_validate(user), role=membership.role)


@router.put("/by-username/{username}", response_model=MemberOut)
def set_member_by_username_route(
    project_id: ProjectId,
    username: Annotated[str, Path(min_length=1, max_length=200)],
    body: MemberSet,
    actor: ActorDep,
    session: SessionDep,
) -> MemberOut:
    """The same, naming the user by username: what a project manager knows of a colleague (only
    workspace admins may list users and their ids)."""
    project = get_project(session, project_id)
    user = get_user_by_username(session, username)
    current = role_in_project(session, user_id=user.id, project_id=project.id)
    authorize(actor, MemberPolicy.change(project.id, granted=body.role, current=current))
    membership = set_member(session, project_id=project.id, user=user, role=body.role)
    return MemberOut(user=UserOut.model_validate(user), role=membership.role)


@router.delete("/{user_id}", status_code=204)
def remove_member_route(project_id: ProjectId, user_id: UserId, actor: ActorDep, session: SessionDep) -> None:
    project = get_project(session, project_id)
    current = role_in_project(session, user_id=user_id, project_id=project.id)
    authorize(actor, MemberPolicy.change(project.id, granted=None, current=current))
    remove_member(session, project_id=project.id, user_id=user_id)
