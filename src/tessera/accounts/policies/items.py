"""Who may see a project's items: every member (labelers label them)."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import Check, project_role


class ItemPolicy:
    @staticmethod
    def read(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.labeler, "see its items")
