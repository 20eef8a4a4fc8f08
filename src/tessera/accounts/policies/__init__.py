"""Who may do what: one module per resource, each a class of checks; `authorize` applies one.

A route loads what it acts on, then calls `authorize(actor, SomePolicy.verb(...))` before the service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tessera.accounts.memberships import role_in_project
from tessera.accounts.models import ProjectRole, User, WorkspaceRole
from tessera.core.errors import Forbidden

ROLE_RANK: dict[ProjectRole, int] = {
    ProjectRole.labeler: 1,
    ProjectRole.reviewer: 2,
    ProjectRole.manager: 3,
    ProjectRole.owner: 4,
}


@dataclass
class Actor:
    """The signed-in user of a request, with their project roles looked up once each."""

    user: User
    session: Session
    _roles: dict[int, ProjectRole | None] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.user.workspace_role == WorkspaceRole.admin

    def role_in(self, project_id: int) -> ProjectRole | None:
        if project_id not in self._roles:
            self._roles[project_id] = role_in_project(
                self.session, user_id=self.user.id, project_id=project_id
            )
        return self._roles[project_id]

    def has_role(self, project_id: int, at_least: ProjectRole) -> bool:
        if self.is_admin:
            return True
        role = self.role_in(project_id)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[at_least]


@dataclass(frozen=True)
class Check:
    """One permission: a predicate on the actor and the sentence that explains a refusal."""

    allows: Callable[[Actor], bool]
    denial: str


def authorize(actor: Actor, check: Check) -> None:
    if not check.allows(actor):
        raise Forbidden(check.denial)


def signed_in() -> Check:
    return Check(lambda actor: actor.user.is_active, "your account is deactivated")


def workspace_admin(action: str) -> Check:
    return Check(lambda actor: actor.is_admin, f"only a workspace admin may {action}")


def project_role(project_id: int, at_least: ProjectRole, action: str) -> Check:
    return Check(
        lambda actor: actor.has_role(project_id, at_least),
        f"you need the {at_least.value} role or higher in project {project_id} to {action}",
    )
