"""Importing labels from the details page in Chromium: a COCO file of boxes becomes final labels and the
page reports what was imported and what did not match; a malformed file is refused whole with every
problem listed, and nothing changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.data_api import ok
from tests.support.exports import labeled_project
from tests.support.web import save_screenshot, sign_in


def _coco(tmp_path: Path, name: str, annotations: list[dict[str, Any]]) -> Path:
    document = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 2, "file_name": "elsewhere.png", "width": 40, "height": 30},
        ],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": annotations,
    }
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_manager_imports_a_coco_file_and_sees_a_bad_one_refused(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["car"],
        files={"a.png": (40, 30), "b.png": (40, 30)}, labels={}, name="Imports",
    )  # fmt: skip
    good = _coco(tmp_path, "good.json", [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 8]},
        {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5]},
    ])  # fmt: skip
    bad = _coco(tmp_path, "bad.json", [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [30, 20, 50, 50]},  # leaves the image
        {"id": 2, "image_id": 99, "category_id": 1, "bbox": [1, 1, 5, 5]},  # no such image
    ])  # fmt: skip
    sign_in(page, live_server, "imports-admin")
    page.goto(f"{live_server}/projects/{made.project_id}/details")
    form = page.locator("#import-form")
    form.get_by_label("File", exact=True).set_input_files(str(bad))
    form.locator("select[name=format]").select_option("coco")
    form.locator("select[name=mode]").select_option("final")
    form.get_by_role("button", name="Import").click()
    refused = page.locator("#import-report .error-box")
    refused.wait_for()
    assert refused.locator("li").count() >= 2
    save_screenshot(page, "details-import-refused")
    board = ok(client.get(f"/api/projects/{made.project_id}/dashboard", headers=made.admin))
    assert board["items"]["labeled"] == 0  # nothing half-imported

    form.get_by_label("File", exact=True).set_input_files(str(good))
    form.get_by_role("button", name="Import").click()
    page.get_by_text("Imported: 1 labels imported of 2 records").wait_for()
    assert "elsewhere.png" in page.locator("#import-report").inner_text()  # not matched, and said
    save_screenshot(page, "details-import-done")
    board = ok(client.get(f"/api/projects/{made.project_id}/dashboard", headers=made.admin))
    assert board["items"]["labeled"] == 1
