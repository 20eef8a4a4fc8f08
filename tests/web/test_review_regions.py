"""Review of a box project in Chromium: each labeler's boxes are summed up by class, and the reviewer sets
the label that counts in the labeling tool's box editor, starting from a labeler's boxes; the filters by
time and by pre-filled label reach the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import User
from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.data_api import ok
from tests.support.factories import bearer, make_token
from tests.support.web import project_from_images, save_screenshot, sign_in


def test_a_reviewer_sets_the_boxes_that_count_in_the_editor(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    body = {"name": "Parking", "task_type": "object_detection", "label_classes": ["car", "van"]}
    lot = {"lot.png": ((400, 300), (90, 90, 90))}
    made = project_from_images(client, db, settings, images=lot, body=body, labeler="lab")
    with db.write() as session:
        labeler = bearer(
            make_token(session, session.scalars(select(User).where(User.username == "lab")).one())
        )
    task = ok(client.post(f"/api/projects/{made.project_id}/tasks/next", json={}, headers=labeler))
    item_id = task["items"][0]["id"]
    boxes = [{"class": "car", "x": 10, "y": 20, "width": 50, "height": 40}]
    submission = {"labels": [{"item_id": item_id, "label": {"boxes": boxes}}]}
    ok(client.post(f"/api/tasks/{task['id']}/submit", json=submission, headers=labeler))

    sign_in(page, live_server, "root")
    page.goto(f"{live_server}/projects/{made.project_id}/review")
    card = page.locator(f".review-card[data-item-id='{item_id}']")
    card.wait_for()
    assert card.locator(".chip").all_inner_texts() == ["car ×1"]
    card.get_by_role("button", name="Labelers' labels").click()
    card.locator(".annotations li").get_by_text("car ×1").wait_for()
    card.get_by_role("button", name="Start from this").click()
    overlay = card.locator(".overlay")
    overlay.wait_for()
    area = overlay.bounding_box()
    scale = area["width"] / 400
    page.mouse.move(area["x"] + 200 * scale, area["y"] + 100 * scale)
    page.keyboard.press("2")  # over the editor: the class of the next box is van
    page.mouse.down()
    page.mouse.move(area["x"] + 300 * scale, area["y"] + 180 * scale, steps=4)
    page.mouse.up()
    assert card.locator(".overlay .box text").all_text_contents() == ["car", "van"]
    save_screenshot(page, "review-boxes-editor")
    card.get_by_role("button", name="Save as the label that counts").click()
    card = page.locator(f".review-card[data-item-id='{item_id}']")
    card.get_by_text("Done: set label.").wait_for()
    assert card.locator(".chip").all_inner_texts() == ["car ×1", "van ×1"]

    decided = ok(client.get(f"/api/items/{item_id}/review", headers=made.admin))
    assert decided["label_source"] == "review"
    assert decided["label"]["boxes"] == [
        *boxes,
        {"class": "van", "x": 200, "y": 100, "width": 100, "height": 80},
    ]

    page.get_by_label("Pre-filled label").select_option("corrected")  # none was offered a pre-filled label
    page.get_by_text("No item matches.").wait_for()
    page.get_by_label("Pre-filled label").select_option("")
    card.wait_for()
    page.get_by_label("Decided from").fill("2999-01-01T00:00")  # nothing decided in the future
    page.get_by_text("No item matches.").wait_for()
