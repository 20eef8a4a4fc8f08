"""Input a fuzzer would send: every answer is a clear 4xx naming what is wrong, never a 500; an unexpected
error still answers the JSON error shape."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tessera.accounts.models import WorkspaceRole
from tessera.api.app import create_app
from tessera.core.ids import encode_cursor
from tessera.core.settings import Settings
from tessera.db.errors import is_busy
from tessera.db.migrate import upgrade_database
from tessera.db.session import Database
from tessera.projects.models import Project
from tessera.worker.runtime import Runtime
from tests.support.factories import bearer, make_token, make_user


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    with db.write() as session:
        return bearer(make_token(session, make_user(session, "root", role=WorkspaceRole.admin)))


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/projects/99999999999999999999", "project_id"),
        ("/api/projects/0", "project_id"),
        ("/api/jobs/-3", "job_id"),
        ("/api/projects?limit=0", "limit"),
        (f"/api/projects?cursor={encode_cursor(2**64)}", "cursor"),
        ("/api/projects/2147483648", "project_id"),
        ("/api/projects?cursor=%00%01", "cursor"),
        (
            "/api/projects?cursor=" + base64.urlsafe_b64encode("v1:²".encode()).decode(),
            "cursor",
        ),
    ],
)
def test_out_of_range_ids_and_cursors_are_422_naming_the_field(
    client: TestClient, admin: dict[str, str], path: str, field: str
) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["details"]["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "tab\tin\x00name", "task_type": "text_ner", "label_classes": ["a"]}, "name"),
        ({"name": "ok", "task_type": "text_ner", "label_classes": ["fine", "bell\x07"]}, "label_classes.1"),
    ],
)
def test_control_characters_in_names_are_refused(
    client: TestClient, admin: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = client.post("/api/projects", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["field"] == field


def test_a_body_that_is_not_json_is_422_about_the_body(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/projects", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["field"] == "body"


def test_the_last_admin_cannot_be_demoted_or_deactivated(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    me = client.get("/api/auth/me", headers=admin).json()["user"]["id"]
    assert (
        client.patch(f"/api/users/{me}", json={"workspace_role": "member"}, headers=admin).status_code == 409
    )
    assert client.patch(f"/api/users/{me}", json={"is_active": False}, headers=admin).status_code == 409
    with db.write() as session:
        other = make_user(session, "second", role=WorkspaceRole.admin)
    assert client.patch(f"/api/users/{other.id}", json={"is_active": False}, headers=admin).status_code == 200
    assert (
        client.patch(f"/api/users/{me}", json={"workspace_role": "creator"}, headers=admin).status_code == 409
    )


def test_an_unexpected_error_answers_the_json_error_shape(runtime: Runtime, settings: Settings) -> None:
    app = create_app(settings, runtime=runtime)

    def explode() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode")
    assert response.status_code == 500
    assert response.json()["code"] == "internal"
    assert "a bug" not in response.text  # no internals leak


def test_a_write_that_waits_past_the_busy_timeout_is_503_with_retry_after(tmp_path: Path) -> None:
    """SQLite (a database of its own, a short busy timeout): another process holds the write lock, so
    the request is turned away as busy, to be retried, and writes nothing."""
    settings = Settings(data_dir=tmp_path / "data", sqlite_busy_timeout_ms=50)
    runtime = Runtime.start(settings, scheduler=False)
    try:
        upgrade_database(runtime.database.engine)
        with runtime.database.write() as session:
            headers = bearer(make_token(session, make_user(session, "boss", role=WorkspaceRole.admin)))
        other = sqlite3.connect(settings.data_dir / "tessera.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            app = create_app(settings, runtime=runtime)
            with TestClient(app, raise_server_exceptions=False) as client:
                body = {"name": "waits", "task_type": "text_ner", "label_classes": ["a"]}
                response = client.post("/api/projects", json=body, headers=headers)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert response.status_code == 503, response.text
        assert (response.json()["code"], response.headers["Retry-After"]) == ("busy", "1")
        with runtime.database.read() as session:
            assert session.scalar(select(func.count()).select_from(Project)) == 0
    finally:
        runtime.stop()
        runtime.database.dispose()


@pytest.mark.parametrize(
    ("original", "busy"),
    [
        (psycopg.errors.DeadlockDetected("deadlock detected"), True),
        (psycopg.errors.SerializationFailure("could not serialize access"), True),
        (psycopg.errors.LockNotAvailable("could not obtain lock"), True),
        (psycopg.errors.UndefinedTable("no such table"), False),
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("no such table: items"), False),
    ],
)
def test_contention_is_told_from_faults(original: Exception, busy: bool) -> None:
    assert is_busy(OperationalError("SELECT 1", {}, original)) is busy
    assert not is_busy(original)  # only as the database layer raises it
