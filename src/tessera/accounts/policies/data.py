"""Who may manage datastores and datasets (workspace resources) and a project's data."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.accounts.policies import Check, project_role


def _workspace_creator(action: str) -> Check:
    return Check(
        lambda actor: actor.user.workspace_role in (WorkspaceRole.admin, WorkspaceRole.creator),
        f"only workspace admins and creators may {action}",
    )


class DatastorePolicy:
    @staticmethod
    def list() -> Check:
        return _workspace_creator("see datastores")

    @staticmethod
    def create() -> Check:
        return _workspace_creator("create datastores")


class DatasetPolicy:
    @staticmethod
    def list() -> Check:
        return _workspace_creator("see datasets")

    @staticmethod
    def create() -> Check:
        return _workspace_creator("create datasets")

    @staticmethod
    def upload() -> Check:
        return _workspace_creator("upload files to datasets")


class ProjectDataPolicy:
    @staticmethod
    def read(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "see the project's data")

    @staticmethod
    def change(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "attach or refresh the project's data")
