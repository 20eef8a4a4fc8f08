"""Sign in and the projects list by role, in Chromium: a labeler sees their projects with the
instructions and "Label data"; a manager sees status, progress and pause/resume; names that hold markup
are shown as text."""

from __future__ import annotations

from typing import Any

from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.db.session import Database
from tessera.items.counts import add_counts
from tessera.items.models import ItemState
from tessera.projects.models import ProjectStatus
from tests.support.factories import make_project, make_user
from tests.support.web import save_screenshot, sign_in


def test_a_labeler_sees_instructions_and_label_data_a_manager_sees_progress(
    page: Any, live_server: str, db: Database
) -> None:
    with db.write() as session:
        owner = make_user(session, "olive", role=WorkspaceRole.creator)
        labeler = make_user(session, "lee")
        project = make_project(
            session, owner, name="Street <b>scenes</b> <script>window.hacked=1</script>",
            labels=("car", "person"), members={labeler: ProjectRole.labeler},
        )  # fmt: skip
        project.instructions_markdown = "Label **every** car.\n\n<img src=x onerror=window.hacked=2>"
        project.status = ProjectStatus.running
        add_counts(session, project.id, {ItemState.unlabeled.value: 30, ItemState.labeled.value: 10})
        project_id = project.id

    sign_in(page, live_server, "lee")
    card = page.locator(f"article[data-project-id='{project_id}']")
    card.get_by_text("Instructions").wait_for()
    assert card.locator("h2").inner_text() == "Street <b>scenes</b> <script>window.hacked=1</script>"
    assert card.locator(".instructions strong").inner_text() == "every"
    assert (
        card.get_by_role("link", name="Label data").get_attribute("href") == f"/projects/{project_id}/label"
    )
    assert page.evaluate("window.hacked") is None  # neither the name nor the instructions ran
    assert page.locator("#managed-section").is_hidden()
    save_screenshot(page, "projects-as-labeler")

    page.context.clear_cookies()
    sign_in(page, live_server, "olive")
    row = page.locator(f"tr[data-project-id='{project_id}']")
    row.get_by_text("10 of 40 labeled (25%)").wait_for()
    assert row.locator(".status").inner_text() == "running"
    row.get_by_role("button", name="Pause").click()
    row.get_by_role("button", name="Resume").wait_for()
    assert row.locator(".status").inner_text() == "paused"
    assert page.locator("#labeling-section").is_hidden()
