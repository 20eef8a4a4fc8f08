"""The labeling tool when the network fails, and what a grid loads: a submit whose request is lost keeps
the labels, says so and is retried with the same idempotency key until it lands — once; the grid loads
thumbnails only, and the original of an image only when it is opened with Z (zoom, brightness)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.labels.models import Annotation
from tests.support.data_api import ok
from tests.support.web import project_from_images, save_screenshot, sign_in


def test_a_lost_submit_is_retried_once_it_can_be_and_the_grid_loads_thumbnails(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    colors = {f"tile{index}.png": ((900, 600), (50 * index, 100, 150)) for index in range(4)}
    body = {"name": "Tiles", "task_type": "image_classification_multiclass", "label_classes": ["a", "b"]}
    made = project_from_images(client, db, settings, images=colors, body=body, labeler="net")
    ok(
        client.put(
            f"/api/projects/{made.project_id}/labeling-settings", json={"page_size": 4}, headers=made.admin
        )
    )
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    sign_in(page, live_server, "net")
    page.goto(f"{live_server}/projects/{made.project_id}/label")
    page.locator(".tile").nth(3).wait_for()
    page.wait_for_function("[...document.images].every((image) => image.complete && image.naturalWidth > 0)")
    assert sum("/thumbnail" in url for url in fetched) == 4
    assert not any("/content" in url for url in fetched)  # the grid never loads an original

    page.keyboard.press("z")  # the selected image at full resolution
    page.locator(".zoom-view img").wait_for()
    page.wait_for_function("document.querySelector('.zoom-view img').naturalWidth === 900")
    assert sum("/content" in url for url in fetched) == 1
    page.get_by_label("Brightness").fill("150")
    assert (
        page.locator(".zoom-view img").evaluate("image => image.style.filter")
        == "brightness(150%) contrast(100%)"
    )
    page.keyboard.press("+")
    assert page.locator(".zoom-view .zoom-level").inner_text().startswith("125%")
    save_screenshot(page, "labeling-zoomed-image")
    page.keyboard.press("Escape")
    assert page.locator(".zoom-view").count() == 0

    sent: list[dict[str, Any]] = []

    def lose_the_first(route: Any) -> None:
        sent.append(json.loads(route.request.post_data or "{}"))
        if len(sent) == 1:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/tasks/*/submit", lose_the_first)
    page.keyboard.press("Control+a")
    page.keyboard.press("1")  # all four: a
    page.keyboard.press("Enter")
    page.get_by_text("your labels are kept, retrying").wait_for()
    page.get_by_text("Nothing left for you").wait_for(timeout=15_000)  # the retry landed
    assert len(sent) == 2 and sent[0] == sent[1]  # the same labels and idempotency key
    assert sent[0]["idempotency_key"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 4
    board = ok(client.get(f"/api/projects/{made.project_id}/dashboard", headers=made.admin))
    assert board["items"]["labeled"] == 4
