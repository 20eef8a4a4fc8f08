"""The box tool in Chromium, on one 400×300 image: draw a box; Esc while drawing leaves nothing, and a
click draws nothing; a number key gives the selected box its class; drag to move, a corner to resize;
Delete removes a box; undo brings it back; Enter submits what is on screen."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.labels.models import Annotation
from tessera.projects.models import LabelClass
from tests.support.web import project_from_images, save_screenshot, sign_in


def _boxes(page: Any) -> list[dict[str, float]]:
    return [
        {name: float(rect.get_attribute(name)) for name in ("x", "y", "width", "height")}
        for rect in page.locator(".overlay .box > rect[data-index]:not([data-handle])").all()
    ]


def test_boxes_are_drawn_moved_resized_deleted_and_esc_leaves_nothing(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    body = {"name": "Street", "task_type": "object_detection", "label_classes": ["car", "person"]}
    street = {"street.png": ((400, 300), (200, 210, 220))}
    project_id = project_from_images(client, db, settings, images=street, body=body, labeler="bo").project_id
    sign_in(page, live_server, "bo")
    page.goto(f"{live_server}/projects/{project_id}/label")
    overlay = page.locator(".overlay")
    overlay.wait_for()
    area = overlay.bounding_box()
    scale = area["width"] / 400

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * scale, area["y"] + y * scale

    def drag(start: tuple[float, float], end: tuple[float, float], *, release: bool = True) -> None:
        page.mouse.move(*at(*start))
        page.mouse.down()
        page.mouse.move(*at(*end), steps=5)
        if release:
            page.mouse.up()

    drag((40, 50), (140, 130))  # a box, of the first class (car)
    assert _boxes(page) == [{"x": 40, "y": 50, "width": 100, "height": 80}]
    drag((200, 200), (260, 260), release=False)
    assert page.locator(".overlay .drawing").count() == 1
    page.keyboard.press("Escape")  # cancels the box being drawn
    page.mouse.up()
    page.mouse.click(*at(300, 40))  # a click is no box
    assert len(_boxes(page)) == 1 and page.locator(".overlay .drawing").count() == 0

    page.mouse.click(*at(90, 90))  # select the box, then give it the second class
    page.keyboard.press("2")
    assert page.locator(".overlay .box text").all_text_contents() == ["person"]
    drag((90, 90), (110, 100))  # move by (20, 10)
    assert _boxes(page) == [{"x": 60, "y": 60, "width": 100, "height": 80}]
    drag((160, 140), (180, 150))  # the south-east corner: resize
    assert _boxes(page) == [{"x": 60, "y": 60, "width": 120, "height": 90}]

    drag((250, 150), (300, 200))  # a second box (class person, the current one)
    assert len(_boxes(page)) == 2
    page.keyboard.press("Delete")  # the selected (new) one
    assert len(_boxes(page)) == 1
    page.keyboard.press("Control+z")
    assert len(_boxes(page)) == 2
    page.mouse.click(*at(275, 175))  # select it again, and delete it for good
    page.keyboard.press("Delete")
    assert len(_boxes(page)) == 1
    save_screenshot(page, "box-tool")
    page.keyboard.press("Enter")
    page.get_by_text("Nothing left for you").wait_for()

    with db.read() as session:
        names = {row.id: row.name for row in session.scalars(select(LabelClass))}
        [payload] = session.scalars(select(Annotation.payload)).all()
    boxes = [{**box, "class_id": names[box["class_id"]]} for box in payload["boxes"]]
    assert boxes == [{"class_id": "person", "x": 60, "y": 60, "width": 120, "height": 90}]
