"""Credentials at rest: encrypted under the secret key, unreadable under another, and the generated key
file is private, made once, and shared by concurrent first starts."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tessera.core.settings import Settings
from tessera.storage import (
    StorageError,
    StorageProblem,
    build_datastore,
    decrypt_credentials,
    encrypt_credentials,
    read_secret_key,
)
from tests.support.emulators import S3_REGION, S3Server


def test_credentials_round_trip_and_work_against_s3(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    secret = read_secret_key(Settings(data_dir=tmp_path))
    credentials = {"access_key_id": s3_server.access_key_id, "secret_access_key": s3_server.secret_access_key}
    token = encrypt_credentials(credentials, secret=secret)
    assert s3_server.secret_access_key not in token
    assert s3_server.access_key_id not in token
    restored = decrypt_credentials(token, secret=secret)
    assert restored == credentials
    config = {"bucket": s3_bucket, "endpoint_url": s3_server.endpoint_url, "region": S3_REGION}
    build_datastore("s3", config, restored).check()


def test_another_key_cannot_decrypt(tmp_path: Path) -> None:
    token = encrypt_credentials({"account_key": "k"}, secret="first secret")
    for wrong_token, secret in (
        (token, "second secret"),
        ("garbage", "first secret"),
        (token[:-4], "first secret"),
    ):
        with pytest.raises(StorageError) as caught:
            decrypt_credentials(wrong_token, secret=secret)
        assert caught.value.reason is StorageProblem.UNREADABLE_CREDENTIALS


def test_encryption_is_randomized() -> None:
    assert encrypt_credentials({"a": "b"}, secret="s") != encrypt_credentials({"a": "b"}, secret="s")


def test_the_setting_is_used_when_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="configured secret")
    assert read_secret_key(settings) == "configured secret"
    assert not (tmp_path / "secret.key").exists()
    assert "configured secret" not in repr(settings)


def test_a_generated_key_is_private_kept_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = read_secret_key(settings)
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 40
    assert read_secret_key(settings) == first
    assert [item.name for item in path.parent.iterdir()] == ["secret.key"]  # no temporary file left


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: read_secret_key(settings), range(32)))
    assert len(keys) == 1


def test_an_empty_key_file_is_an_error_not_an_empty_key(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("")
    with pytest.raises(StorageError, match=r"secret\.key is empty"):
        read_secret_key(Settings(data_dir=tmp_path))
