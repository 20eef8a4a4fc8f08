"""Exports in Chromium: on the details page a manager picks a format and options, exports, and downloads
the file when it is ready; the dashboard announces an export that finishes while it is open, with its
download."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.data_api import ok
from tests.support.exports import labeled_project
from tests.support.web import save_screenshot, sign_in


def test_an_export_is_made_and_downloaded_from_the_pages(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"],
        files={"a.png": (16, 16), "b.png": (16, 16), "c.png": (16, 16)},
        labels={"a.png": {"classes": ["cat"]}, "b.png": {"classes": ["dog"]}}, name="Pets",
    )  # fmt: skip
    sign_in(page, live_server, "pets-admin")
    page.goto(f"{live_server}/projects/{made.project_id}/details")
    page.locator("#export-format").select_option("csv")
    page.get_by_label("Which items").select_option("all")
    page.get_by_role("button", name="Export", exact=True).click()
    link = page.locator("#exports tbody tr").first.get_by_role("link", name="Download")
    link.wait_for()
    save_screenshot(page, "details-export")
    with page.expect_download() as waiting:
        link.click()
    saved = tmp_path / waiting.value.suggested_filename
    waiting.value.save_as(saved)
    assert saved.name.startswith("pets-export-") and saved.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert [(row["path"], row["label"]) for row in rows] == [
        ("a.png", "cat"),
        ("b.png", "dog"),
        ("c.png", ""),
    ]

    page.goto(f"{live_server}/projects/{made.project_id}")  # the dashboard, open while an export runs
    page.locator("#dashboard").wait_for()
    body = {"format": "csv", "options": {}}
    started = ok(client.post(f"/api/projects/{made.project_id}/exports", json=body, headers=made.admin), 202)
    note = page.locator(".notification", has_text=f"Export #{started['id']} (csv) is ready")
    note.wait_for(timeout=20_000)
    save_screenshot(page, "dashboard-export-ready")
    with page.expect_download() as waiting:
        note.get_by_role("link", name="download").click()
    assert waiting.value.suggested_filename.endswith(f"-export-{started['id']}-csv.csv")
