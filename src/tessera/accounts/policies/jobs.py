"""Who may see and control background jobs."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import Actor, Check, workspace_admin


def _project_or_admin(project_id: int | None, action: str) -> Check:
    def allows(actor: Actor) -> bool:
        if project_id is None:
            return actor.is_admin
        return actor.has_role(project_id, ProjectRole.manager)

    scope = f"project {project_id}" if project_id is not None else "the workspace"
    return Check(allows, f"you need the manager role in {scope} to {action}")


class JobPolicy:
    @staticmethod
    def read(project_id: int | None) -> Check:
        return _project_or_admin(project_id, "see its jobs")

    @staticmethod
    def control(project_id: int | None) -> Check:
        return _project_or_admin(project_id, "cancel or retry its jobs")

    @staticmethod
    def list_workspace() -> Check:
        return workspace_admin("list every job")

    @staticmethod
    def run_system_check() -> Check:
        return workspace_admin("run the system check")
