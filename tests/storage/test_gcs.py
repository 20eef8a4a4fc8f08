"""Google Cloud Storage, offline: there is no GCS emulator here, so these check construction, the config
and key validation, path safety, and that an unreachable endpoint is named. Listing, reading and writing
against a real server are NOT exercised (docs/storage.md says so)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tessera.core.errors import Invalid
from tessera.storage import StorageError, StorageProblem, build_datastore
from tests.storage.test_datastore_contract import UNSAFE_PATHS
from tests.support.processes import free_port


def service_account_json() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "tessera-test",
            "private_key_id": "0123",
            "private_key": pem,
            "client_email": "labeler@tessera-test.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def test_a_service_account_key_builds_a_datastore_without_contacting_google() -> None:
    store = build_datastore(
        "gcs", {"bucket": "my-bucket", "prefix": "images"}, {"service_account_json": service_account_json()}
    )
    assert store.kind == "gcs"
    assert store.root == "my-bucket/images"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", UNSAFE_PATHS)
def test_unsafe_paths_are_refused_before_any_request(path: str) -> None:
    store = build_datastore("gcs", {"bucket": "my-bucket"}, {})
    with pytest.raises(Invalid):
        store.stat(path)
    with pytest.raises(Invalid):
        store.open(path)


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"service_account_json": "not json"}, "is not JSON"),
        ({"service_account_json": json.dumps({"type": "authorized_user"})}, "not a service-account key"),
        ({"token": "x"}, "credentials.token"),
    ],
)
def test_bad_keys_are_refused(credentials: dict[str, str], message: str) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        build_datastore("gcs", {"bucket": "my-bucket"}, credentials)
    assert "credentials" in caught.value.message


def test_an_unreachable_endpoint_is_named_at_check() -> None:
    store = build_datastore(
        "gcs", {"bucket": "my-bucket", "endpoint_url": f"http://127.0.0.1:{free_port()}"}, {}
    )
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.UNREACHABLE
