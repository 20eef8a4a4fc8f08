"""Who may do what with a project."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.accounts.policies import Check, project_role, signed_in


class ProjectPolicy:
    @staticmethod
    def list() -> Check:
        return signed_in()  # the service returns only the projects the actor is a member of

    @staticmethod
    def create() -> Check:
        return Check(
            lambda actor: actor.user.workspace_role in (WorkspaceRole.admin, WorkspaceRole.creator),
            "only workspace admins and creators may create projects",
        )

    @staticmethod
    def read(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.labeler, "see this project")

    @staticmethod
    def read_instructions(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.labeler, "read the instructions")

    @staticmethod
    def update(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "change the project")

    @staticmethod
    def change_status(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "pause or resume the project")

    @staticmethod
    def delete(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.owner, "delete the project")
