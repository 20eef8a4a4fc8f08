"""Who may see and steer ML assist: reviewers and up see its state and models (they see the labels);
managers change its settings and start its jobs."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import Check, project_role


class MlPolicy:
    @staticmethod
    def view(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.reviewer, "see its ML assist")

    @staticmethod
    def manage(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "change its ML assist or start its training")
