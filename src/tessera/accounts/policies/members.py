"""Who may see and change a project's members."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import ROLE_RANK, Actor, Check, project_role


class MemberPolicy:
    @staticmethod
    def list(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "see the members")

    @staticmethod
    def change(project_id: int, granted: ProjectRole | None, current: ProjectRole | None) -> Check:
        """Managers add and remove labelers and reviewers; owners (and admins) every role."""

        def allows(actor: Actor) -> bool:
            if actor.is_admin or actor.role_in(project_id) == ProjectRole.owner:
                return True
            touched = [role for role in (granted, current) if role is not None]
            return actor.role_in(project_id) == ProjectRole.manager and all(
                ROLE_RANK[role] < ROLE_RANK[ProjectRole.manager] for role in touched
            )

        return Check(allows, "managers may grant labeler and reviewer roles; only owners may grant more")
