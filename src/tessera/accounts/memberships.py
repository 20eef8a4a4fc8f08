"""Who is in which project, with which role."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tessera.accounts.models import Membership, ProjectRole, User
from tessera.core.errors import Conflict, NotFound

_ROLE = select(Membership.role).where(
    Membership.user_id == bindparam("user_id"), Membership.project_id == bindparam("project_id")
)  # asked on every request that is authorized: built once


def role_in_project(session: Session, *, user_id: int, project_id: int) -> ProjectRole | None:
    role = session.scalar(_ROLE, {"user_id": user_id, "project_id": project_id})
    return ProjectRole(role) if role is not None else None


def roles_in_projects(
    session: Session, *, user_id: int, project_ids: Sequence[int]
) -> dict[int, ProjectRole]:
    """The user's role in each of the projects they are a member of, in one query."""
    rows = session.execute(
        select(Membership.project_id, Membership.role).where(
            Membership.user_id == user_id, Membership.project_id.in_(project_ids)
        )
    )
    return {project_id: ProjectRole(role) for project_id, role in rows}


def set_member(session: Session, *, project_id: int, user: User, role: ProjectRole) -> Membership:
    """Add `user` to the project with `role`, or change their role. The last owner cannot be demoted."""
    membership = session.get(Membership, (project_id, user.id))
    if membership is None:
        membership = Membership(project_id=project_id, user_id=user.id, role=role)
        session.add(membership)
    else:
        if membership.role == ProjectRole.owner and role != ProjectRole.owner:
            _ensure_another_owner(session, project_id=project_id, user_id=user.id)
        membership.role = role
    session.flush()
    return membership


def remove_member(session: Session, *, project_id: int, user_id: int) -> None:
    membership = session.get(Membership, (project_id, user_id))
    if membership is None:
        raise NotFound(f"user {user_id} is not a member of project {project_id}")
    if membership.role == ProjectRole.owner:
        _ensure_another_owner(session, project_id=project_id, user_id=user_id)
    session.delete(membership)
    session.flush()


def list_members(session: Session, *, project_id: int) -> Sequence[tuple[Membership, User]]:
    rows = session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project_id)
        .order_by(User.username)
    )
    return [(membership, user) for membership, user in rows]


def _ensure_another_owner(session: Session, *, project_id: int, user_id: int) -> None:
    """Lock the project's owner rows, in user order, before counting (see accounts.service's admin check)."""
    owners = session.scalars(
        select(Membership.user_id)
        .where(Membership.project_id == project_id, Membership.role == ProjectRole.owner)
        .order_by(Membership.user_id)
        .with_for_update()
    ).all()
    if not any(owner != user_id for owner in owners):
        raise Conflict("a project keeps at least one owner; make someone else owner first")
