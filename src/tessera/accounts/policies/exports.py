"""Who may export a project's labels and download the files: its reviewers and up (they see the labels)."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import Check, project_role


class ExportPolicy:
    @staticmethod
    def export(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.reviewer, "export its labels")
