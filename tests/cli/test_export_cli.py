"""`tessera export`: the project's labels through the export job to a file, with the formats listed and
bad input named."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tessera.cli.main import app
from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.cli import run_ok
from tests.support.exports import labeled_project


def test_a_project_is_exported_from_the_command_line(
    cli: CliRunner, client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multilabel", classes=["red", "round"],
        files={"ball.png": (10, 10), "box.png": (10, 10)}, labels={"ball.png": {"classes": ["red", "round"]}},
    )  # fmt: skip
    listed = run_ok(cli, "export", str(made.project_id), "--list-formats")
    assert "csv" in listed and "coco" in listed and "conll" not in listed

    target = tmp_path / "labels.csv"
    output = run_ok(
        cli, "export", str(made.project_id), "--format", "csv", "--out", str(target), "--items", "all",
        "--validation-share", "0.5", "--seed", "3",
    )  # fmt: skip
    summary = json.loads(output.strip().splitlines()[-1])
    assert summary["items"] == 2 and summary["file"] == str(target)
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["path"], json.loads(row["labels"] or "[]")) for row in rows] == [
        ("ball.png", ["red", "round"]), ("box.png", []),
    ]  # fmt: skip
    assert {row["split"] for row in rows} <= {"train", "validation"}
    assert not list(tmp_path.glob(".*.tmp"))

    wrong = cli.invoke(app, ["export", str(made.project_id), "--format", "conll"])
    assert wrong.exit_code == 1 and "'conll' is not an export format" in wrong.output
    missing = cli.invoke(app, ["export", str(made.project_id)])
    assert missing.exit_code == 1 and "give --format" in missing.output
