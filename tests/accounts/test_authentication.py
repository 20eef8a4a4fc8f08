"""Sign-in by cookie with CSRF, API tokens (hashed, shown once, revocable), argon2 password hashes."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import ApiToken, User, WorkspaceRole
from tessera.core import clock
from tessera.core.ids import digest
from tessera.db.session import Database
from tests.support.factories import PASSWORD, bearer, make_token, make_user


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/auth/sign-in", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def test_passwords_are_stored_as_argon2id_hashes(db: Database) -> None:
    with db.write() as session:
        user = make_user(session, "hashy")
    with db.read() as session:
        stored = session.scalars(select(User.password_hash).where(User.id == user.id)).one()
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_sets_a_cookie_and_unsafe_requests_need_the_csrf_token(
    db: Database, client: TestClient
) -> None:
    with db.write() as session:
        make_user(session, "carol", role=WorkspaceRole.creator)
    csrf = _sign_in(client, "carol")
    assert client.get("/api/auth/me").json()["user"]["username"] == "carol"
    body = {"name": "P", "task_type": "text_ner", "label_classes": ["PER"]}

    missing = client.post("/api/projects", json=body)
    assert missing.status_code == 403 and "CSRF" in missing.json()["message"]
    wrong = client.post("/api/projects", json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    made = client.post("/api/projects", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


def test_a_tampered_session_cookie_is_refused(db: Database, client: TestClient, settings) -> None:
    with db.write() as session:
        make_user(session, "dave")
    _sign_in(client, "dave")
    cookie = client.cookies.get(settings.session_cookie_name)
    client.cookies.clear()  # set() beside the original would send both (the client's domain differs)
    client.cookies.set(
        settings.session_cookie_name, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    )
    response = client.get("/api/auth/me")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_wrong_password_and_unknown_user_get_the_same_401(db: Database, client: TestClient) -> None:
    with db.write() as session:
        make_user(session, "erin")
    wrong = client.post("/api/auth/sign-in", json={"username": "erin", "password": "nope-nope"})
    unknown = client.post("/api/auth/sign-in", json={"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"]


def test_sign_out_ends_the_session(db: Database, client: TestClient) -> None:
    with db.write() as session:
        make_user(session, "fay")
    csrf = _sign_in(client, "fay")
    cookie = client.cookies.get("tessera_session")
    assert client.post("/api/auth/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set("tessera_session", cookie)  # replaying the old cookie
    assert client.get("/api/auth/me").status_code == 403


def test_api_tokens_are_shown_once_stored_hashed_and_revocable(db: Database, client: TestClient) -> None:
    with db.write() as session:
        user = make_user(session, "gus")
        first = make_token(session, user)
    created = client.post("/api/tokens", json={"name": "laptop"}, headers=bearer(first))
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("tsr_")
    with db.read() as session:
        stored = session.scalars(select(ApiToken).where(ApiToken.name == "laptop")).one()
    assert stored.token_digest == digest(secret) and secret not in stored.display_prefix + stored.token_digest
    listed = client.get("/api/tokens", headers=bearer(secret)).json()
    assert {token["name"] for token in listed} == {"test", "laptop"}
    assert all("token" not in token for token in listed)

    assert client.delete(f"/api/tokens/{stored.id}", headers=bearer(first)).status_code == 200
    revoked = client.get("/api/auth/me", headers=bearer(secret))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["message"]


def test_missing_malformed_and_expired_tokens_get_401(db: Database, client: TestClient) -> None:
    assert client.get("/api/projects").status_code == 401
    assert client.get("/api/projects", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/projects", headers=bearer("tsr_not-a-real-token")).status_code == 401
    with db.write() as session:
        user = make_user(session)
        secret = make_token(session, user)
        token = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        token.expires_at = clock.now() - timedelta(seconds=1)
    expired = client.get("/api/projects", headers=bearer(secret))
    assert expired.status_code == 401 and "expired" in expired.json()["message"]


def test_a_deactivated_user_is_refused(db: Database, client: TestClient) -> None:
    with db.write() as session:
        admin = make_user(session, role=WorkspaceRole.admin)
        user = make_user(session)
        admin_token, user_token = make_token(session, admin), make_token(session, user)
    assert (
        client.patch(
            f"/api/users/{user.id}", json={"is_active": False}, headers=bearer(admin_token)
        ).status_code
        == 200
    )
    assert client.get("/api/auth/me", headers=bearer(user_token)).status_code == 401


def test_token_use_is_recorded(db: Database, client: TestClient) -> None:
    with db.write() as session:
        user = make_user(session)
        secret = make_token(session, user)
    assert client.get("/api/auth/me", headers=bearer(secret)).status_code == 200
    with db.read() as session:
        assert session.scalars(select(ApiToken.last_used_at)).one() is not None


def test_token_expiry_needs_a_timezone_and_a_future_moment(db: Database, client: TestClient) -> None:
    with db.write() as session:
        secret = make_token(session, make_user(session))
    naive = client.post(
        "/api/tokens", json={"name": "n", "expires_at": "2030-01-01T00:00:00"}, headers=bearer(secret)
    )
    assert naive.status_code == 422
    assert naive.json()["details"]["errors"][0]["field"] == "expires_at"
    past = client.post(
        "/api/tokens", json={"name": "p", "expires_at": "2001-01-01T00:00:00Z"}, headers=bearer(secret)
    )
    assert past.status_code == 422
    good = client.post(
        "/api/tokens", json={"name": "g", "expires_at": "2099-01-01T00:00:00Z"}, headers=bearer(secret)
    )
    assert good.status_code == 201
