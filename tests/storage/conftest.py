"""Datastore fixtures: the same small tree of files in a local folder, an S3 bucket (moto's server) and an
Azure Blob container (Azurite), put there with each store's own SDK, so the tests read back through ours."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tessera.storage import Datastore, build_datastore
from tests.support.emulators import S3_REGION, AzuriteServer, S3Server, run_azurite, run_s3_server

# path -> content; sizes differ so that a wrong size shows
TREE: dict[str, bytes] = {
    "a.jpg": b"0123456789",
    "B.JPG": b"uppercase extension",
    "notes.txt": b"notes",
    "photos/cat.jpg": b"cat" * 100,
    "photos/dog.png": b"dog" * 7,
    "photos/2024/x.JPEG": b"x" * 33,
    "photos/2024/deep/y.jpg": b"y" * 44,
    "docs/readme.md": b"# readme\n",
}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with run_s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    with run_azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


def s3_client(server: S3Server, *, secret: str | None = None) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=secret or server.secret_access_key,
    )


def s3_credentials(server: S3Server) -> dict[str, str]:
    return {"access_key_id": server.access_key_id, "secret_access_key": server.secret_access_key}


def azure_container(server: AzuriteServer, name: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(server.connection_string).get_container_client(name)


def unique_name() -> str:
    return f"t-{uuid.uuid4().hex[:20]}"


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new bucket holding TREE (moto keeps it in memory until the session's server stops)."""
    client = s3_client(s3_server)
    bucket = unique_name()
    client.create_bucket(Bucket=bucket)
    for path, content in TREE.items():
        client.put_object(Bucket=bucket, Key=path, Body=content)
    return bucket


@pytest.fixture
def azure_blob_container(azurite: AzuriteServer) -> Iterator[str]:
    """A new container holding TREE."""
    container = azure_container(azurite, unique_name())
    container.create_container()
    for path, content in TREE.items():
        container.upload_blob(path, content)
    yield container.container_name
    container.delete_container()


@pytest.fixture
def local_root(tmp_path: Path) -> Path:
    """A folder holding TREE, inside the folder local datastores may use (tmp_path)."""
    root = tmp_path / "store"
    for path, content in TREE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    return root


def make_local(root: Path, **config: Any) -> Datastore:
    return build_datastore("local", {"root": str(root), **config}, local_roots=[root.parent])


def make_s3(server: S3Server, bucket: str, **config: Any) -> Datastore:
    return build_datastore(
        "s3", {"bucket": bucket, "endpoint_url": server.endpoint_url, "region": S3_REGION, **config},
        s3_credentials(server),
    )  # fmt: skip


def make_azure(server: AzuriteServer, container: str, **config: Any) -> Datastore:
    return build_datastore(
        "azure_blob", {"container": container, **config}, {"connection_string": server.connection_string}
    )


BACKENDS = ("local", "s3", "azure_blob")


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest) -> Callable[..., Datastore]:
    """Builds a datastore over TREE on each backend; keyword arguments go to its config (e.g. prefix)."""
    if request.param == "local":
        root = request.getfixturevalue("local_root")
        return lambda **config: (
            make_local(root / config.pop("prefix"), **config) if "prefix" in config else make_local(root)
        )
    if request.param == "s3":
        server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
        return lambda **config: make_s3(server, bucket, **config)
    server, container = request.getfixturevalue("azurite"), request.getfixturevalue("azure_blob_container")
    return lambda **config: make_azure(server, container, **config)


@pytest.fixture
def store(store_factory: Callable[..., Datastore]) -> Datastore:
    return store_factory()
