"""The `tessera` command, run in-process (Typer's runner) against each database, and `tessera serve` as a
real process that a browser-less client signs in to."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx
from typer.testing import CliRunner

from tessera.cli.main import app
from tessera.core.settings import Settings
from tessera.db.migrate import head_revision
from tessera.db.session import Database
from tests.support.cli import run_ok
from tests.support.polling import wait_for
from tests.support.processes import free_port, stop, tessera_process


def test_db_upgrade_and_current(cli: CliRunner) -> None:
    head = head_revision()
    assert f"revision {head}" in run_ok(cli, "db", "upgrade")
    assert f"current: {head}  head: {head}" in run_ok(cli, "db", "current")


def test_users_tokens_and_projects_from_the_command_line(cli: CliRunner, settings: Settings) -> None:
    run_ok(cli, "user", "create", "ops", "--role", "creator", input="s3cret-pass\ns3cret-pass\n")
    token = run_ok(cli, "user", "token", "ops", "--name", "ci").strip()
    assert token.startswith("tsr_")
    run_ok(
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
    listed = [json.loads(line) for line in run_ok(cli, "project", "list", "--json").splitlines()]
    assert [(project["name"], project["label_classes"]) for project in listed] == [
        ("Birds", ["sparrow", "finch"])
    ]
    shown = json.loads(run_ok(cli, "project", "show", str(listed[0]["id"])))
    assert shown["task_type"] == "image_classification_multilabel"
    assert "Birds" in run_ok(cli, "project", "list")


def test_command_line_errors_are_one_clear_line(cli: CliRunner) -> None:
    run_ok(cli, "user", "create", "ops", input="s3cret-pass\ns3cret-pass\n")
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
    output = run_ok(cli, "job", "check", "--steps", "3", "--step-seconds", "0")
    assert "in-process runner" in output
    assert "succeeded" in output
    assert "system.check" in run_ok(cli, "job", "list")


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
    run_ok(cli, "user", "create", "ops", "--role", "creator", input="s3cret-pass\ns3cret-pass\n")
    run_ok(
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
    assert "created datastore 1" in run_ok(
        cli, "datastore", "create", "shots", "--kind", "local", "--config", json.dumps({"root": str(root)})
    )
    assert "created dataset 1" in run_ok(
        cli, "dataset", "create", "shots", "--datastore", "1", "--media", "image"
    )
    project_id = json.loads(run_ok(cli, "project", "list", "--json").splitlines()[0])["id"]
    attached = run_ok(cli, "project", "attach", str(project_id), "--dataset", "1")
    assert "succeeded" in attached
    assert "3 items loaded from 3 files" in attached
    (root / "four.webp").write_bytes(b"x")
    refreshed = run_ok(cli, "project", "refresh", str(project_id))
    assert "1 new items" in refreshed
    bad = cli.invoke(app, ["datastore", "create", "etc", "--kind", "local", "--config", '{"root": "/etc"}'])
    assert bad.exit_code == 1
    assert "config.root" in bad.output
    assert "shots" in run_ok(cli, "datastore", "list")
    assert "shots" in run_ok(cli, "dataset", "list")
