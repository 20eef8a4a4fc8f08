"""`tessera dataset upload`: local files and folders streamed into an upload dataset (made on the way if
asked), reaching a project at its refresh; files already there stop it or are left out; the size limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tessera.cli.main import app
from tessera.core.settings import Settings, get_settings
from tests.support.cli import run_ok


def _failing(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 1, f"{args}: {result.output}"
    assert "Traceback" not in result.output
    return result.output


def test_files_and_folders_are_uploaded_from_the_command_line(
    cli: CliRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "shots"
    for name in ("a.jpg", "sub/b.png", "notes.txt", ".hidden.jpg", ".git/c.jpg"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(b"x" * 100)
    output = run_ok(cli, "dataset", "upload", str(source), "--create", "Shots", "--media", "image")
    assert "created upload dataset 1: Shots" in output
    assert "uploaded 2 files (200 bytes)" in output
    assert "left out 2 files of the folders: hidden, or not image files" in output
    (folder,) = settings.upload_folder().iterdir()
    assert sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()) == [
        "a.jpg",
        "sub/b.png",
    ]

    run_ok(cli, "user", "create", "ops", "--role", "creator", input="s3cret-pass\ns3cret-pass\n")
    run_ok(
        cli,
        "project",
        "create",
        "--name",
        "Shots",
        "--task-type",
        "image_classification_multiclass",
        "-l",
        "a",
        "-l",
        "b",
        "--owner",
        "ops",
    )
    project_id = json.loads(run_ok(cli, "project", "list", "--json").splitlines()[0])["id"]
    assert "2 items loaded from 2 files" in run_ok(
        cli, "project", "attach", str(project_id), "--dataset", "1"
    )

    extra = tmp_path / "extra.webp"
    extra.write_bytes(b"y" * 10)
    added = run_ok(cli, "dataset", "upload", str(extra), "--dataset", "1", "--into", "later")
    assert "uploaded 1 files (10 bytes)" in added
    assert f"project {project_id} gets them at its next refresh" in added
    assert (folder / "later" / "extra.webp").read_bytes() == b"y" * 10
    assert "1 new items" in run_ok(cli, "project", "refresh", str(project_id))

    assert "'a.jpg' is already in the dataset" in _failing(
        cli, "dataset", "upload", str(source), "--dataset", "1"
    )
    again = run_ok(cli, "dataset", "upload", str(source), "--dataset", "1", "--skip-existing")
    assert "uploaded 0 files" in again
    assert "left out 2 files already there" in again

    assert "takes only" in _failing(cli, "dataset", "upload", str(source / "notes.txt"), "--dataset", "1")
    assert "--create needs --media" in _failing(cli, "dataset", "upload", str(source), "--create", "X")
    assert "either --dataset ID or --create NAME" in _failing(cli, "dataset", "upload", str(source))

    monkeypatch.setenv("TESSERA_MAX_UPLOAD_BYTES", "50")
    get_settings.cache_clear()
    too_big = _failing(cli, "dataset", "upload", str(source / "a.jpg"), "--dataset", "1", "--into", "big")
    assert "larger than the upload limit of 50 bytes per file" in too_big
    assert not (folder / "big").exists()
