"""A project's dashboard page in Chromium: the numbers as SVG bars (class names as text), the Running /
Paused toggle with a notification, and numbers that follow new labels without a reload."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import User
from tessera.db.session import Database
from tests.support.labeling import claim, classes, make_team, ok, submit
from tests.support.web import save_screenshot, sign_in


def _bar(page: Any, chart: str, label: str) -> str:
    return str(page.locator(f"#{chart} g[data-label='{label}'] .chart-value").text_content())  # SVG text


def test_the_dashboard_draws_the_numbers_follows_labels_and_pauses(
    page: Any, live_server: str, client: TestClient, db: Database
) -> None:
    team = make_team(db, items=8, labels=("cat", "<i>dog</i>"), labelers=2)
    task = claim(client, team, team.labelers[0])
    assert task
    ids = [item["id"] for item in task["items"]]
    ok(submit(client, task, team.labelers[0], {ids[0]: classes("cat"), ids[1]: classes("<i>dog</i>")}))
    with db.read() as session:
        names = session.scalars(select(User.username).order_by(User.id)).all()
    manager = names[-2]
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/projects/{team.project_id}")
    page.locator("#progress-chart g[data-label='labeled']").wait_for()
    assert _bar(page, "progress-chart", "labeled") == "2"
    assert _bar(page, "classes-chart", "<i>dog</i>") == "1"  # the name as text
    assert page.locator("#classes-chart i").count() == 0
    assert _bar(page, "incomplete-chart", "in a leased task") == "2"

    ok(submit(client, task, team.labelers[0], {ids[2]: classes("cat")}))  # a new label, no reload
    page.wait_for_function(
        "document.querySelector(\"#progress-chart g[data-label='labeled'] .chart-value\").textContent === '3'",
        timeout=15_000,
    )
    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Project paused").wait_for()
    page.locator("#status", has_text="paused").wait_for()
    save_screenshot(page, "project-dashboard")
    page.get_by_role("button", name="Resume").click()
    page.get_by_text("Project running again").wait_for()
