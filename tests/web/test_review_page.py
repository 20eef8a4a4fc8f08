"""The review page in Chromium: filter skipped items and send one back to the queue; reject a label;
set the label that counts and read the item's history, page by page; and a decision on an item that changed meanwhile
says what it is now and changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import User
from tessera.db.session import Database
from tests.support.labeling import claim, classes, item_states, make_team, ok, submit
from tests.support.web import save_screenshot, sign_in


def test_a_reviewer_sends_back_rejects_sets_labels_and_sees_a_stale_item(
    page: Any, live_server: str, client: TestClient, db: Database
) -> None:
    team = make_team(db, items=4, labels=("cat", "dog"), labelers=1)
    task = claim(client, team, team.labelers[0])
    assert task
    ids = [item["id"] for item in task["items"]]
    who = team.labelers[0]
    ok(client.post(f"/api/tasks/{task['id']}/skip", json={"item_id": ids[0]}, headers=who))
    ok(submit(client, task, who, {ids[1]: classes("cat"), ids[2]: classes("cat"), ids[3]: classes("dog")}))
    with db.read() as session:
        names = session.scalars(select(User.username).order_by(User.id)).all()
    sign_in(page, live_server, names[-3])  # make_team: owner, labelers, reviewer, manager, outsider
    page.goto(f"{live_server}/projects/{team.project_id}/review")
    page.locator(".review-card").nth(3).wait_for()

    page.select_option("select[name=state]", "skipped")
    page.locator(".review-card").first.wait_for()
    page.wait_for_function("document.querySelectorAll('.review-card').length === 1")
    page.get_by_role("button", name="Back to the queue").click()
    page.get_by_text("Done: reject.").wait_for()

    page.select_option("select[name=state]", "labeled")
    page.wait_for_function("document.querySelectorAll('.review-card').length === 3")
    card = page.locator(f".review-card[data-item-id='{ids[1]}']")
    card.get_by_role("button", name="Reject").click()
    card = page.locator(f".review-card[data-item-id='{ids[1]}']")
    card.get_by_text("Done: reject.").wait_for()

    card = page.locator(f".review-card[data-item-id='{ids[2]}']")
    card.get_by_role("button", name="Set label…").click()
    card.locator(".picker").get_by_role("button", name="dog").click()
    page.locator(f".review-card[data-item-id='{ids[2]}']").get_by_text("Done: set label.").wait_for()
    assert page.locator(f".review-card[data-item-id='{ids[2]}'] .chip").all_inner_texts() == ["dog"]
    card = page.locator(f".review-card[data-item-id='{ids[2]}']")
    card.get_by_role("button", name="History").click()
    card.locator("ol.history li").nth(1).wait_for()
    history = card.locator("ol.history li").all_inner_texts()
    assert [line.split(" · ", 1)[1] for line in history] == [
        f"{names[1]} submitted: — → cat",  # make_team: owner, then the labeler
        f"{names[-3]} set the label that counts: cat → dog",
    ]
    version = ok(client.get(f"/api/items/{ids[2]}/review", headers=team.reviewer))["version"]
    for turn in range(49):  # 51 changes in all: the page shows 50, the 51st behind a button
        decision = {
            "action": "set_label",
            "version": version,
            "label": classes("cat" if turn % 2 == 0 else "dog"),
        }
        version = ok(client.post(f"/api/items/{ids[2]}/review", json=decision, headers=team.reviewer))[
            "version"
        ]
    card.get_by_role("button", name="History").click()
    card.get_by_role("button", name="Show later changes").click()
    card.locator("ol.history li").nth(50).wait_for()
    history = card.locator("ol.history li").all_inner_texts()
    assert len(history) == 51 and history[-1].endswith(": dog → cat"), history[-3:]
    assert card.get_by_role("button", name="Show later changes").count() == 0

    stale = page.locator(f".review-card[data-item-id='{ids[3]}']")
    reviewer = team.reviewer  # meanwhile, another reviewer decides the same item through the API
    current = ok(client.get(f"/api/items/{ids[3]}/review", headers=reviewer))
    ok(
        client.post(
            f"/api/items/{ids[3]}/review",
            json={"action": "reject", "version": current["version"]},
            headers=reviewer,
        )
    )
    stale.get_by_role("button", name="Labelers' labels").wait_for()
    stale.get_by_role("button", name="Set label…").click()
    stale.locator(".picker").get_by_role("button", name="cat").click()
    page.get_by_text("the item changed since you loaded it; it is now unlabeled").wait_for()
    save_screenshot(page, "review-page")
    cards = page.locator(".review-card").count()
    page.get_by_label("List", exact=True).check()  # the same items as a list: no reload
    assert "as-list" in (page.locator("#items").get_attribute("class") or "")
    assert page.locator(".review-card").count() == cards
    save_screenshot(page, "review-page-list")

    states = item_states(db, ids)
    assert [states[item_id] for item_id in ids] == ["unlabeled", "unlabeled", "labeled", "unlabeled"]
