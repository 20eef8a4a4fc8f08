"""The labeling tool in Chromium, for a 4-image grid: instructions first, number keys label the selected
image and move on, undo and redo, a reload keeps the labels not yet sent, Enter submits and brings the
next page (here: nothing left)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item
from tessera.labels.models import Annotation
from tessera.projects.models import LabelClass, Project
from tests.support.data_api import ok
from tests.support.web import ImageProject, project_from_images, save_screenshot, sign_in


def _project_with_images(client: TestClient, db: Database, settings: Settings) -> ImageProject:
    colors = {
        "red.png": (220, 30, 30),
        "green.png": (30, 180, 60),
        "blue.png": (30, 60, 220),
        "gray.png": (128, 128, 128),
    }
    body = {"name": "Colors", "task_type": "image_classification_multiclass", "label_classes": ["warm", "cool"],
            "instructions_markdown": "Warm is **red**; cool is anything else."}  # fmt: skip
    made = project_from_images(
        client, db, settings, images={name: ((320, 240), color) for name, color in colors.items()}, body=body,
        labeler="lee",
    )  # fmt: skip
    with db.read() as session:
        assert session.get_one(Project, made.project_id).status.value == "running"
    settings_url = f"/api/projects/{made.project_id}/labeling-settings"
    ok(client.put(settings_url, json={"page_size": 4}, headers=made.admin))
    return made


def _labels_shown(page: Any) -> dict[str, list[str]]:
    shown = {}
    for tile in page.locator(".tile").all():
        shown[tile.locator("img").get_attribute("alt")] = tile.locator(".chip").all_inner_texts()
    return shown


def test_a_labeler_labels_a_grid_with_number_keys(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    made = _project_with_images(client, db, settings)
    project_id = made.project_id
    sign_in(page, live_server, "lee")
    page.goto(f"{live_server}/projects/{project_id}/label")
    page.get_by_text("Warm is").wait_for()  # the instructions come first
    assert page.locator("#instructions strong").inner_text() == "red"
    page.get_by_role("button", name="Start labeling").click()
    page.locator(".tile").nth(3).wait_for()
    order = [tile.locator("img").get_attribute("alt") for tile in page.locator(".tile").all()]
    assert sorted(order) == ["blue.png", "gray.png", "green.png", "red.png"]
    page.wait_for_function("[...document.images].every((image) => image.complete && image.naturalWidth > 0)")

    wanted = {name: "warm" if name == "red.png" else "cool" for name in order}
    page.keyboard.press("1" if wanted[order[0]] == "warm" else "2")  # the first image is selected at start
    page.keyboard.press("Control+z")
    assert _labels_shown(page)[order[0]] == []
    page.keyboard.press("Control+y")
    for name in order[1:3]:  # each key labels the selected image and moves to the next one
        page.keyboard.press("1" if wanted[name] == "warm" else "2")
    assert [_labels_shown(page)[name] for name in order[:3]] == [[wanted[name]] for name in order[:3]]

    page.reload()  # nothing sent yet: the draft comes back
    page.get_by_role("button", name="Start labeling").click()
    page.locator(".tile").nth(3).wait_for()
    assert [_labels_shown(page)[name] for name in order[:3]] == [[wanted[name]] for name in order[:3]]
    save_screenshot(page, "labeling-grid-with-draft")
    page.locator(".tile").nth(3).click()
    page.keyboard.press("1" if wanted[order[3]] == "warm" else "2")
    page.keyboard.press("Enter")
    page.get_by_text("Nothing left for you").wait_for()

    with db.read() as session:
        names = {row.id: row.name for row in session.scalars(select(LabelClass))}
        stored = session.execute(
            select(Item.path, Annotation.payload).join(Item, Item.id == Annotation.item_id)
            .where(Annotation.project_id == project_id)
        ).all()  # fmt: skip
    assert {path: [names[i] for i in payload["classes"]] for path, payload in stored} == {
        name: [label] for name, label in wanted.items()
    }
    board = ok(client.get(f"/api/projects/{project_id}/dashboard", headers=made.admin))
    assert board["items"]["labeled"] == 4
