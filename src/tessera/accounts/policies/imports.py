"""Who may import labels into a project: its managers and owners (an import may label every item, add
label classes, and is attributed to the system user `imported`, not to a labeler)."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import Check, project_role


class ImportPolicy:
    @staticmethod
    def import_labels(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "import labels")
