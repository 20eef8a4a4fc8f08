"""Schemathesis fuzzes every operation of the OpenAPI document as a workspace admin: whatever it sends,
the answer is never a 5xx, and every error carries the {code, message, details} shape."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from tessera.accounts.models import WorkspaceRole
from tessera.api.app import create_app
from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.factories import bearer, make_project, make_token, make_user

schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    with db.write() as session:
        user = make_user(session, "fuzzer", role=WorkspaceRole.admin)
        make_project(session, user)  # something for the id-taking operations to find
        return bearer(make_token(session, user))


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_operation_answers_a_server_error(
    case: schemathesis.Case, client: TestClient, admin: dict[str, str]
) -> None:
    if case.path == "/api/auth/sign-out":
        return  # it would end nothing (token auth), but a fuzzed cookie header is not worth the noise
    request = case.as_transport_kwargs(base_url=str(client.base_url), headers=admin)
    request.pop("cookies", None)
    response = client.request(**request)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    )
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "details"}
