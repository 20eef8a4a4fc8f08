"""Factories: real rows made through the real services."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from tessera.accounts.memberships import set_member
from tessera.accounts.models import ProjectRole, User, WorkspaceRole
from tessera.accounts.service import create_api_token, create_user
from tessera.projects.models import Project, TaskType
from tessera.projects.service import create_project

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


def make_user(
    session: Session, username: str | None = None, *, role: WorkspaceRole = WorkspaceRole.member
) -> User:
    return create_user(
        session, username=username or f"user{next(_sequence)}", password=PASSWORD, workspace_role=role
    )


def make_token(session: Session, user: User) -> str:
    return create_api_token(session, user=user, name="test")[1]


def make_project(
    session: Session,
    owner: User,
    *,
    name: str | None = None,
    task_type: TaskType = TaskType.image_classification_multiclass,
    labels: tuple[str, ...] = ("cat", "dog"),
    members: dict[User, ProjectRole] | None = None,
) -> Project:
    project = create_project(
        session,
        creator=owner,
        name=name or f"Project {next(_sequence)}",
        task_type=task_type,
        label_classes=list(labels),
    )
    for user, role in (members or {}).items():
        set_member(session, project_id=project.id, user=user, role=role)
    return project


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
