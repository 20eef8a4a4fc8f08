"""Who may label, review and steer labeling in a project: labelers label; reviewers also review and see
the dashboard; managers and owners also change the labeling settings."""

from __future__ import annotations

from tessera.accounts.models import ProjectRole
from tessera.accounts.policies import Check, project_role


class LabelingPolicy:
    @staticmethod
    def label(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.labeler, "label its items")

    @staticmethod
    def review(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.reviewer, "review its labels")

    @staticmethod
    def manage(project_id: int) -> Check:
        return project_role(project_id, ProjectRole.manager, "change how it is labeled")
