"""S3 against moto's server (signatures and IAM policies checked, as on AWS)."""

from __future__ import annotations

import pytest

from tessera.core.errors import Invalid
from tessera.storage import StorageError, StorageProblem, build_datastore
from tessera.storage.s3 import S3Datastore
from tests.storage.conftest import make_s3, s3_client, unique_name
from tests.support.emulators import S3_REGION, S3Server
from tests.support.processes import free_port


def test_a_wrong_secret_is_named_at_check(s3_server: S3Server, s3_bucket: str) -> None:
    store = build_datastore(
        "s3",
        {"bucket": s3_bucket, "endpoint_url": s3_server.endpoint_url, "region": S3_REGION},
        {"access_key_id": s3_server.access_key_id, "secret_access_key": "wrong"},
    )
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.BAD_CREDENTIALS
    assert caught.value.field == "credentials.access_key_id"
    assert "SignatureDoesNotMatch" in caught.value.message
    assert "wrong" not in caught.value.message


def test_an_unknown_access_key_is_named_at_check(s3_server: S3Server, s3_bucket: str) -> None:
    store = build_datastore(
        "s3",
        {"bucket": s3_bucket, "endpoint_url": s3_server.endpoint_url, "region": S3_REGION},
        {"access_key_id": "AKIAUNKNOWN000000000", "secret_access_key": "whatever"},
    )
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.BAD_CREDENTIALS


def test_a_missing_bucket_is_named_at_check(s3_server: S3Server) -> None:
    store = make_s3(s3_server, unique_name())
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.MISSING_CONTAINER
    assert caught.value.field == "config.bucket"


def test_an_unreachable_endpoint_is_named_at_check(s3_server: S3Server) -> None:
    store = build_datastore(
        "s3",
        {"bucket": "some-bucket", "endpoint_url": f"http://127.0.0.1:{free_port()}", "region": S3_REGION},
        {"access_key_id": s3_server.access_key_id, "secret_access_key": s3_server.secret_access_key},
    )
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.UNREACHABLE
    assert caught.value.field == "config.endpoint_url"


def test_listing_fetches_one_page_at_a_time(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proof of streaming from outside: keys added after the first entry was read still appear, which a
    listing that fetched everything up front could not show. (Pages of 10 keys instead of 1,000.)"""
    monkeypatch.setattr(S3Datastore, "page_size", 10)
    client = s3_client(s3_server)
    for index in range(25):
        client.put_object(Bucket=s3_bucket, Key=f"many/{index:05}.jpg", Body=b"")
    entries = make_s3(s3_server, s3_bucket).list_files(["many/*.jpg"])
    assert next(entries).path == "many/00000.jpg"
    client.put_object(Bucket=s3_bucket, Key="many/99999.jpg", Body=b"")
    assert [entry.path for entry in entries][-1] == "many/99999.jpg"


def test_folder_placeholders_are_not_files_and_etags_are_given(s3_server: S3Server, s3_bucket: str) -> None:
    s3_client(s3_server).put_object(Bucket=s3_bucket, Key="photos/empty-folder/", Body=b"")
    store = make_s3(s3_server, s3_bucket)
    entries = {entry.path: entry for entry in store.list_files(["photos/**"])}
    assert "photos/empty-folder/" not in entries
    assert all(entry.etag for entry in entries.values())
    assert store.stat("photos/cat.jpg").etag == entries["photos/cat.jpg"].etag


def test_a_failed_write_leaves_no_object_at_all(s3_server: S3Server, s3_bucket: str) -> None:
    store = make_s3(s3_server, s3_bucket)

    def failing_chunks() -> bytes:
        raise ConnectionResetError("gone")

    class Source:
        def read(self, size: int = -1) -> bytes:
            return failing_chunks()

    with pytest.raises(ConnectionResetError):
        store.write("uploads/x.bin", Source())  # type: ignore[arg-type]
    keys = [
        item["Key"] for item in s3_client(s3_server).list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    ]
    assert sorted(keys) == sorted(key for key in keys if not key.startswith("uploads/"))
    assert not any(key.startswith("uploads/") for key in keys)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"bucket": "Bad_Bucket"}, "config.bucket"),
        ({"bucket": "ok-bucket", "endpoint_url": "ftp://x"}, "config.endpoint_url"),
        ({"bucket": "ok-bucket", "prefix": "../up"}, "config.prefix"),
        ({"bucket": "ok-bucket", "secret_access_key": "in the config"}, "config.secret_access_key"),
    ],
)
def test_bad_config_is_refused_naming_the_key(config: dict[str, str], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        build_datastore("s3", config, {})
    assert field in [problem["field"] for problem in caught.value.details["errors"]]
    assert "in the config" not in caught.value.message


def test_half_a_key_pair_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        build_datastore("s3", {"bucket": "ok-bucket"}, {"access_key_id": "AKIA"})
    assert caught.value.details["errors"][0]["field"] == "credentials"
