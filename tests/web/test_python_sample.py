"""The dashboard's "Access your labels from Python": the code shown on the page, run as it is (in a new
Python process, with an API token in TESSERA_TOKEN), prints the project's labels and saves an export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.exports import labeled_project
from tests.support.web import save_screenshot, sign_in


def test_the_python_sample_on_the_dashboard_runs_as_shown(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"],
        files={"kitten.png": (16, 16), "puppy.png": (16, 16)},
        labels={"kitten.png": {"classes": ["cat"]}, "puppy.png": {"classes": ["dog"]}}, name="Sample",
    )  # fmt: skip
    sign_in(page, live_server, "sample-admin")
    page.goto(f"{live_server}/projects/{made.project_id}")
    page.get_by_text("Access your labels from Python").click()
    code = page.locator("#python-sample").inner_text()
    save_screenshot(page, "dashboard-python-sample")
    assert f'Tessera("{live_server}"' in code and f"tessera.labels({made.project_id})" in code

    token = made.admin["Authorization"].removeprefix("Bearer ")
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "TESSERA_TOKEN": token},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "kitten.png" in run.stdout and "{'classes': ['cat']}" in run.stdout
    [saved] = tmp_path.glob("*.csv")
    assert f"saved {saved.name}" in run.stdout or f"saved {saved}" in run.stdout
    assert saved.read_text(encoding="utf-8").count("\n") == 3  # a header and two items
