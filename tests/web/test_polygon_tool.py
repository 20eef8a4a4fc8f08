"""The polygon tool in Chromium, on one 400×300 image: click points and close a polygon on its first point
or with C; Esc while drawing leaves nothing; Backspace takes back the last point; a flat polygon is not
closed; a number key gives the selected polygon its class; drag a vertex, drag the polygon (clamped to
the image); Alt+click or double-click removes a vertex (never below 3); Delete removes a polygon; undo
brings it back; Enter submits what is on screen."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.labels.models import Annotation
from tessera.projects.models import LabelClass
from tests.support.web import project_from_images, save_screenshot, sign_in

Points = list[list[float]]


def _polygons(page: Any) -> list[Points]:
    shapes = page.locator(".overlay .polygon > polygon[data-index]").all()
    return [
        [[float(n) for n in pair.split(",")] for pair in shape.get_attribute("points").split()]
        for shape in shapes
    ]


def _drawing(page: Any) -> int:
    """How many points the polygon being drawn has (0: none is being drawn)."""
    return int(page.locator(".overlay .drawing circle").count())


def test_polygons_are_drawn_closed_edited_deleted_and_esc_leaves_nothing(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    body = {"name": "Fields", "task_type": "instance_segmentation", "label_classes": ["field", "road"]}
    fields = {"fields.png": ((400, 300), (120, 150, 110))}
    project = project_from_images(client, db, settings, images=fields, body=body, labeler="poly")
    sign_in(page, live_server, "poly")
    page.goto(f"{live_server}/projects/{project.project_id}/label")
    overlay = page.locator(".overlay")
    overlay.wait_for()
    area = overlay.bounding_box()
    scale = area["width"] / 400
    message = page.locator(".polygon-message")

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * scale, area["y"] + y * scale

    def clicks(*points: tuple[float, float]) -> None:
        for point in points:
            page.mouse.click(*at(*point))

    def drag(start: tuple[float, float], end: tuple[float, float]) -> None:
        page.mouse.move(*at(*start))
        page.mouse.down()
        page.mouse.move(*at(*end), steps=5)
        page.mouse.up()

    clicks((40, 40), (140, 40), (140, 120), (40, 120))  # a polygon, of the first class (field)
    assert _drawing(page) == 4 and _polygons(page) == []
    page.mouse.move(*at(100, 200))  # the dashed line follows the pointer
    preview = page.locator(".overlay .drawing .preview")
    line = [float(preview.get_attribute(name)) for name in ("x1", "y1", "x2", "y2")]
    assert line == pytest.approx([40, 120, 100, 200], abs=0.01)
    clicks((40, 40))  # its first point closes it
    assert _polygons(page) == [[[40, 40], [140, 40], [140, 120], [40, 120]]] and _drawing(page) == 0

    clicks((200, 50), (300, 50), (300, 150))
    assert _drawing(page) == 3
    page.keyboard.press("Escape")  # drops the polygon being drawn
    assert _drawing(page) == 0 and len(_polygons(page)) == 1

    clicks((200, 220), (250, 220), (300, 220))  # on one line: C does not close it, and says why
    page.keyboard.press("c")
    assert _drawing(page) == 3 and len(_polygons(page)) == 1
    assert "Not closed" in message.inner_text()
    page.keyboard.press("Escape")

    clicks((200, 50), (300, 50), (320, 200))
    page.keyboard.press("Backspace")  # takes back (320, 200)
    assert _drawing(page) == 2
    clicks((300, 150), (200, 150))
    page.keyboard.press("c")  # closes it
    assert _polygons(page)[1] == [[200, 50], [300, 50], [300, 150], [200, 150]] and _drawing(page) == 0

    clicks((90, 80))  # select the first polygon, then give it the second class
    page.keyboard.press("2")
    assert page.locator(".overlay .polygon text").all_text_contents() == ["road", "field"]
    drag((140, 120), (160, 130))  # a vertex
    assert _polygons(page)[0] == [[40, 40], [140, 40], [160, 130], [40, 120]]
    drag((80, 60), (20, 70))  # the polygon, by (-60, +10): it stops at the image's left edge
    assert _polygons(page)[0] == [[0, 50], [100, 50], [120, 140], [0, 130]]
    page.keyboard.down("Alt")
    clicks((1, 129))  # Alt+click removes a vertex…
    assert _polygons(page)[0] == [[0, 50], [100, 50], [120, 140]]
    clicks((1, 51))  # …but never below 3
    page.keyboard.up("Alt")
    assert _polygons(page)[0] == [[0, 50], [100, 50], [120, 140]]
    assert "Not removed" in message.inner_text()

    clicks((250, 100))  # select the second polygon; a double-click on a vertex removes it
    page.mouse.dblclick(*at(200, 150))
    assert _polygons(page)[1] == [[200, 50], [300, 50], [300, 150]]
    page.keyboard.press("Delete")
    assert len(_polygons(page)) == 1
    page.keyboard.press("Control+z")
    assert _polygons(page)[1] == [[200, 50], [300, 50], [300, 150]]

    clicks((50, 60))  # select the first polygon, to see its handles
    save_screenshot(page, "polygon-tool")
    radius = float(page.locator(".overlay .vertex").first.get_attribute("r"))
    page.keyboard.press("+")  # zoom in: the handles keep their size on screen
    assert float(page.locator(".overlay .vertex").first.get_attribute("r")) == pytest.approx(radius / 1.25)
    page.keyboard.press("0")
    clicks((250, 200), (330, 210), (300, 270))
    page.mouse.move(*at(220, 260))
    save_screenshot(page, "polygon-tool-drawing")
    page.keyboard.press("Enter")  # refused while a polygon is half drawn: nothing is thrown away unseen
    page.get_by_text("Not sent: a polygon is being drawn").wait_for()
    assert _drawing(page) == 3
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    page.get_by_text("Nothing left for you").wait_for()

    with db.read() as session:
        names = {row.id: row.name for row in session.scalars(select(LabelClass))}
        [payload] = session.scalars(select(Annotation.payload)).all()
    polygons = [{**polygon, "class_id": names[polygon["class_id"]]} for polygon in payload["polygons"]]
    assert polygons == [
        {"class_id": "road", "points": [[0, 50], [100, 50], [120, 140]]},
        {"class_id": "field", "points": [[200, 50], [300, 50], [300, 150]]},
    ]
