"""The `tessera` command, run in-process (Typer's runner) against each database, and `tessera serve` as a
real process that a browser-less client signs in to."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tessera.cli.main import app
from tessera.core.settings import Settings, get_settings
from tessera.db.migrate import head_revision
from tessera.db.session import Database
from tests.support.polling import wait_for
from tests.support.processes import free_port, stop, tessera_process


@pytest.fixture
def cli(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("TESSERA_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("TESSERA_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _run(cli: CliRunner, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    result = cli.invoke(app, list(args), input=input, env=env)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


def test_db_upgrade_and_current(cli: CliRunner) -> None:
    head = head_revision()
    assert f"revision {head}" in _run(cli, "db", "upgrade")
    assert f"current: {head}  head: {head}" in _run(cli, "db", "current")


def test_users_tokens_and_projects_from_the_command_line(cli: CliRunner, settings: Settings) -> None:
    _run(cli, "user", "create", "ops", "--role", "creator", input="s3cret-pass\ns3cret-pass\n")
    token = _run(cli, "user", "token", "ops", "--name", "ci").strip()
    assert token.startswith("tsr_")
    _run(
        cli,
        "project",
        "create",
        "--name",
        "Birds",
        "--task-type",
        "image_classification_multilabel",
        "-l",
        "sparrow",
        "-l",
        "finch",
        "--owner",
        "ops",
    )
    listed = [json.loads(line) for line in _run(cli, "project", "list", "--json").splitlines()]
    assert [(project["name"], project["label_classes"]) for project in listed] == [
        ("Birds", ["sparrow", "finch"])
    ]
    shown = json.loads(_run(cli, "project", "show", str(listed[0]["id"])))
    assert shown["task_type"] == "image_classification_multilabel"
    assert "Birds" in _run(cli, "project", "list")


def test_command_line_errors_are_one_clear_line(cli: CliRunner) -> None:
    _run(cli, "user", "create", "ops", input="s3cret-pass\ns3cret-pass\n")
    duplicate = cli.invoke(app, ["user", "create", "ops"], input="s3cret-pass\ns3cret-pass\n")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    assert "Traceback" not in duplicate.output
    missing = cli.invoke(app, ["project", "show", "999"])
    assert missing.exit_code == 1
    assert "project 999 does not exist" in missing.output
    bad_type = cli.invoke(
        app, ["project", "create", "--name", "x", "--task-type", "video", "-l", "a", "--owner", "ops"]
    )
    assert bad_type.exit_code == 2
    assert "task-type" in bad_type.output


def test_job_check_runs_through_the_in_process_runner(cli: CliRunner) -> None:
    output = _run(cli, "job", "check", "--steps", "3", "--step-seconds", "0")
    assert "in-process runner" in output
    assert "succeeded" in output
    assert "system.check" in _run(cli, "job", "list")


def test_serve_starts_prints_the_url_and_the_first_admin_who_can_sign_in(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "TESSERA_DATABASE_URL": settings.resolved_database_url(),
        "TESSERA_DATA_DIR": str(tmp_path / "data"),
        "TESSERA_PORT": str(port),
    }
    server = tessera_process(["serve"], env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _health(base), lambda status: status == 200, timeout=60, what="the server")
    finally:
        output = stop(server)  # its output ends once it stops, so read it after
    assert f"Tessera is running at {base}" in output
    password = output.split("password: ")[1].split()[0]
    password_file = tmp_path / "data" / "initial-admin-password"
    assert password_file.read_text().strip() == password
    assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600

    server = tessera_process(["serve"], env, cwd=tmp_path)  # again: no second admin, sign in works
    try:
        wait_for(lambda: _health(base), lambda status: status == 200, timeout=60, what="the server")
        with httpx.Client(base_url=base) as client:
            signed_in = client.post("/api/auth/sign-in", json={"username": "admin", "password": password})
            assert signed_in.status_code == 200
            assert signed_in.json()["user"]["workspace_role"] == "admin"
            assert client.get("/api/projects").status_code == 200
            page = client.get("/sign-in")
            assert page.status_code == 200
            assert "<form" in page.text
            assert client.get("/static/api.js").status_code == 200
    finally:
        second_output = stop(server)
    assert "password: " not in second_output
    assert "initial-admin-password" in second_output


def _health(base: str) -> int:
    try:
        return httpx.get(f"{base}/api/health", timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_data_comes_in_from_the_command_line_with_progress(cli: CliRunner, settings: Settings) -> None:
    root = settings.data_dir / "datastores" / "shots"
    for name in ("one.jpg", "two.png", "deep/three.jpeg", "skip.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    _run(cli, "user", "create", "ops", "--role", "creator", input="s3cret-pass\ns3cret-pass\n")
    _run(
        cli,
        "project",
        "create",
        "--name",
        "Shots",
        "--task-type",
        "object_detection",
        "-l",
        "car",
        "--owner",
        "ops",
    )
    assert "created datastore 1" in _run(
        cli, "datastore", "create", "shots", "--kind", "local", "--config", json.dumps({"root": str(root)})
    )
    assert "created dataset 1" in _run(
        cli, "dataset", "create", "shots", "--datastore", "1", "--media", "image"
    )
    project_id = json.loads(_run(cli, "project", "list", "--json").splitlines()[0])["id"]
    attached = _run(cli, "project", "attach", str(project_id), "--dataset", "1")
    assert "succeeded" in attached
    assert "3 items loaded from 3 files" in attached
    (root / "four.webp").write_bytes(b"x")
    refreshed = _run(cli, "project", "refresh", str(project_id))
    assert "1 new items" in refreshed
    bad = cli.invoke(app, ["datastore", "create", "etc", "--kind", "local", "--config", '{"root": "/etc"}'])
    assert bad.exit_code == 1
    assert "config.root" in bad.output
    assert "shots" in _run(cli, "datastore", "list")
    assert "shots" in _run(cli, "dataset", "list")
