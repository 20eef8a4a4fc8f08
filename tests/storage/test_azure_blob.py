"""Azure Blob Storage against Azurite (shared-key signatures checked, as on Azure)."""

from __future__ import annotations

import pytest

from tessera.core.errors import Invalid
from tessera.storage import StorageError, StorageProblem, build_datastore
from tessera.storage.azure_blob import AzureBlobDatastore
from tests.storage.conftest import TREE, azure_container, make_azure, unique_name
from tests.support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, AzuriteServer
from tests.support.processes import free_port

WRONG_KEY = "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIGtleQ=="


def test_account_name_and_key_with_an_endpoint_work(
    azurite: AzuriteServer, azure_blob_container: str
) -> None:
    store = build_datastore(
        "azure_blob",
        {
            "container": azure_blob_container,
            "account_name": AZURITE_ACCOUNT,
            "endpoint_url": azurite.endpoint_url,
        },
        {"account_key": AZURITE_KEY},
    )
    store.check()
    assert sorted(entry.path for entry in store.list_files()) == sorted(TREE)


def test_a_wrong_account_key_is_named_at_check(azurite: AzuriteServer, azure_blob_container: str) -> None:
    store = build_datastore(
        "azure_blob",
        {
            "container": azure_blob_container,
            "account_name": AZURITE_ACCOUNT,
            "endpoint_url": azurite.endpoint_url,
        },
        {"account_key": WRONG_KEY},
    )
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.BAD_CREDENTIALS
    assert caught.value.field == "credentials"
    assert WRONG_KEY not in caught.value.message


def test_a_wrong_key_in_a_connection_string_is_named_at_check(
    azurite: AzuriteServer, azure_blob_container: str
) -> None:
    connection_string = azurite.connection_string.replace(AZURITE_KEY, WRONG_KEY)
    store = build_datastore(
        "azure_blob", {"container": azure_blob_container}, {"connection_string": connection_string}
    )
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.BAD_CREDENTIALS


def test_a_missing_container_is_named_at_check(azurite: AzuriteServer) -> None:
    store = make_azure(azurite, unique_name())
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.MISSING_CONTAINER
    assert caught.value.field == "config.container"


def test_an_unreachable_endpoint_is_named_at_check() -> None:
    store = build_datastore(
        "azure_blob",
        {
            "container": "photos",
            "account_name": AZURITE_ACCOUNT,
            "endpoint_url": f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}",
        },
        {"account_key": AZURITE_KEY},
    )
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.UNREACHABLE
    assert caught.value.field == "config.endpoint_url"


def test_listing_fetches_one_page_at_a_time(
    azurite: AzuriteServer, azure_blob_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blobs added after the first entry was read still appear: the listing is fetched page by page."""
    monkeypatch.setattr(AzureBlobDatastore, "page_size", 10)
    container = azure_container(azurite, azure_blob_container)
    for index in range(25):
        container.upload_blob(f"many/{index:05}.jpg", b"")
    entries = make_azure(azurite, azure_blob_container).list_files(["many/*.jpg"])
    assert next(entries).path == "many/00000.jpg"
    container.upload_blob("many/99999.jpg", b"")
    assert [entry.path for entry in entries][-1] == "many/99999.jpg"


def test_etags_are_given_and_a_failed_write_leaves_no_blob(
    azurite: AzuriteServer, azure_blob_container: str
) -> None:
    store = make_azure(azurite, azure_blob_container)
    assert all(entry.etag for entry in store.list_files())

    class Source:
        def read(self, size: int = -1) -> bytes:
            raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        store.write("uploads/x.bin", Source())  # type: ignore[arg-type]
    names = [blob.name for blob in azure_container(azurite, azure_blob_container).list_blobs()]
    assert sorted(names) == sorted(TREE)


@pytest.mark.parametrize(
    ("config", "credentials", "field"),
    [
        ({"container": "Bad_Name"}, {}, "config.container"),
        ({"container": "photos", "account_key": "k"}, {}, "config.account_key"),
        ({"container": "photos"}, {"account_key": "k"}, "config.account_name"),
        (
            {"container": "photos", "account_name": "acc"},
            {"account_key": "k", "sas_token": "s"},
            "credentials",
        ),
    ],
)
def test_bad_config_is_refused_naming_the_key(
    config: dict[str, str], credentials: dict[str, str], field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        build_datastore("azure_blob", config, credentials)
    assert field in caught.value.message
