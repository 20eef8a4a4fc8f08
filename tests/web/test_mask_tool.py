"""The mask tool in Chromium, on one 200×150 image: a fast brush stroke of the first class leaves no gaps;
the second class fills a polygon (a click on its first corner closes it; Esc drops one being placed); the
eraser clears part of the stroke and Ctrl+Z brings it back, on the overlay and in the draft; a reload
brings the draft back; Enter submits, and the stored PNG holds exactly those pixels."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.labels.models import Annotation
from tessera.projects.models import LabelClass
from tests.support.web import project_from_images, save_screenshot, sign_in

WATER = [207, 34, 46, 255]  # the labeling page's first two class colors, fully opaque on the mask layer
FOREST = [9, 105, 218, 255]
NONE = [0, 0, 0, 0]
OVERLAY_PIXEL = """([x, y]) => [...document.querySelector("canvas.mask-layer").getContext("2d")
    .getImageData(x, y, 1, 1).data]"""
DRAFT_MASK = """() => {
    const key = Object.keys(localStorage).find((name) => name.startsWith("tessera-draft-"));
    const draft = key ? JSON.parse(localStorage.getItem(key)) : null;
    return draft && draft.labels.length ? draft.labels[0][1].mask_png : null;
}"""


def _wait_for_pixel(page: Any, x: int, y: int, rgba: list[int]) -> None:
    page.wait_for_function(f"({OVERLAY_PIXEL})([{x}, {y}]).join() === {json.dumps(','.join(map(str, rgba)))}")


def _wait_for_new_draft(page: Any, before: str | None) -> str:
    page.wait_for_function(f"({DRAFT_MASK})() !== null && ({DRAFT_MASK})() !== {json.dumps(before)}")
    draft: str = page.evaluate(DRAFT_MASK)
    return draft


def test_a_mask_is_painted_filled_erased_undone_kept_and_submitted(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    body = {"name": "Land", "task_type": "semantic_segmentation", "label_classes": ["water", "forest"]}
    images = {"land.png": ((200, 150), (120, 160, 90))}
    project_id = project_from_images(client, db, settings, images=images, body=body, labeler="mia").project_id
    sign_in(page, live_server, "mia")
    page.goto(f"{live_server}/projects/{project_id}/label")
    page.locator("canvas.mask-layer").wait_for(state="attached")
    area = page.locator(".overlay").bounding_box()
    scale = area["width"] / 200

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * scale, area["y"] + y * scale

    def drag(start: tuple[float, float], end: tuple[float, float]) -> None:
        page.mouse.move(*at(*start))
        page.mouse.down()
        page.mouse.move(*at(*end), steps=2)  # two big jumps: the brush fills in between
        page.mouse.up()

    page.get_by_label("Brush size").fill("10")
    assert page.locator(".mask-tools output").first.inner_text() == "10 px"
    page.keyboard.press("1")
    drag((30, 30), (90, 30))
    first = _wait_for_new_draft(page, None)
    assert [page.evaluate(OVERLAY_PIXEL, [x, 30]) for x in (30, 45, 60, 75, 89)] == [WATER] * 5
    assert page.evaluate(OVERLAY_PIXEL, [60, 40]) == NONE

    page.keyboard.press("2")
    page.keyboard.press("p")
    assert page.get_by_role("button", name="Polygon fill").get_attribute("aria-pressed") == "true"
    for corner in ((20, 100), (40, 100)):  # Esc drops a polygon being placed
        page.mouse.click(*at(*corner))
    page.keyboard.press("Escape")
    assert page.locator(".overlay polyline").count() == 0
    for corner in ((120, 60), (180, 60), (180, 130), (120, 130), (120, 60)):  # the last click closes it
        page.mouse.click(*at(*corner))
    filled = _wait_for_new_draft(page, first)
    assert page.evaluate(OVERLAY_PIXEL, [150, 100]) == FOREST
    assert page.evaluate(OVERLAY_PIXEL, [30, 100]) == NONE  # the dropped polygon left nothing

    page.keyboard.press("e")
    drag((60, 5), (60, 55))  # erases across the stroke
    _wait_for_new_draft(page, filled)
    assert page.evaluate(OVERLAY_PIXEL, [60, 30]) == NONE
    assert page.evaluate(OVERLAY_PIXEL, [40, 30]) == WATER
    page.keyboard.press("Control+z")
    _wait_for_pixel(page, 60, 30, WATER)
    assert page.evaluate(DRAFT_MASK) == filled

    page.reload()  # nothing sent yet: the draft comes back
    page.locator("canvas.mask-layer").wait_for(state="attached")
    _wait_for_pixel(page, 60, 30, WATER)
    _wait_for_pixel(page, 150, 100, FOREST)
    page.mouse.move(*at(100, 110))  # the brush outline shows under the pointer
    save_screenshot(page, "mask-tool")
    page.keyboard.press("Enter")
    page.get_by_text("Nothing left for you").wait_for()

    with db.read() as session:
        names = {row.id: row.name for row in session.scalars(select(LabelClass))}
        [payload] = session.scalars(select(Annotation.payload)).all()
    value = {names[class_id]: index + 1 for index, class_id in enumerate(payload["class_ids"])}
    assert sorted(value) == ["forest", "water"]
    with Image.open(io.BytesIO(base64.b64decode(payload["mask_png"]))) as png:
        assert png.size == (200, 150) and png.mode == "L"
        mask = np.asarray(png)
    assert mask[100, 150] == mask[61, 121] == mask[129, 179] == value["forest"]  # inside the polygon
    assert mask[59, 150] == mask[130, 150] == mask[100, 119] == mask[100, 180] == 0  # just outside it
    assert [mask[30, x] for x in (30, 45, 60, 75, 90)] == [value["water"]] * 5  # the stroke, gaps filled
    assert mask[30, 60] == value["water"]  # erased, then the erase undone
    assert mask[22, 60] == mask[38, 60] == 0  # a 10-pixel brush
    assert mask[0, 0] == mask[0, 199] == mask[149, 0] == mask[149, 199] == mask[100, 30] == 0
