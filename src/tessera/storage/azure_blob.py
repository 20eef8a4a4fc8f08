"""Azure Blob Storage (and Azurite) through adlfs.

Credentials are a connection string, or an account key, or a SAS token (with `account_name`); with none the
container is read anonymously. The filesystem is always built from one explicit connection string, so
adlfs never falls back to the server's own Azure identity or its `AZURE_STORAGE_*` environment variables.
"""

from __future__ import annotations

import io
from collections.abc import Generator
from typing import IO, Any, ClassVar

from adlfs import AzureBlobFileSystem
from azure.core.exceptions import (
    ClientAuthenticationError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.blob.aio import BlobPrefix, BlobServiceClient, ExponentialRetry
from fsspec.asyn import sync
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from tessera.core.errors import Invalid, TesseraError
from tessera.storage.base import (
    FsspecDatastore,
    SourceFailed,
    clean_etag,
    iterate_pages,
    to_datetime,
    unexpected,
)
from tessera.storage.errors import StorageError, StorageProblem
from tessera.storage.paths import clean_path, clean_prefix
from tessera.storage.types import FileEntry

CONTAINER_NAME = r"^(\$root|[a-z0-9][a-z0-9-]{1,61}[a-z0-9])$"


class AzureBlobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    container: str = Field(pattern=CONTAINER_NAME, description="Container name.")
    prefix: str = Field("", description="Folder inside the container that is the datastore's root.")
    account_name: str | None = Field(
        None,
        pattern=r"^[a-z0-9]{3,24}$",
        description="Storage account (not needed with a connection string).",
    )
    endpoint_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Blob endpoint, e.g. Azurite's http://127.0.0.1:10000/devstoreaccount1; "
        "unset: https://<account_name>.blob.core.windows.net.",
    )


class AzureBlobCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connection_string: SecretStr | None = None
    account_key: SecretStr | None = None
    sas_token: SecretStr | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> AzureBlobCredentials:
        given = [name for name in ("connection_string", "account_key", "sas_token") if getattr(self, name)]
        if len(given) > 1:
            raise ValueError(f"give one of connection_string, account_key or sas_token, not {given}")
        return self


def _connection_string(config: AzureBlobConfig, credentials: AzureBlobCredentials) -> str:
    if credentials.connection_string is not None:
        return credentials.connection_string.get_secret_value()
    if config.account_name is None:
        raise Invalid(
            "is needed unless the credentials hold a connection string", field="config.account_name"
        )
    endpoint = config.endpoint_url or f"https://{config.account_name}.blob.core.windows.net"
    parts = [f"BlobEndpoint={endpoint.rstrip('/')}/", f"AccountName={config.account_name}"]
    if credentials.account_key is not None:
        parts.append(f"AccountKey={credentials.account_key.get_secret_value()}")
    elif credentials.sas_token is not None:
        parts.append(f"SharedAccessSignature={credentials.sas_token.get_secret_value().lstrip('?')}")
    return ";".join(parts) + ";"


def build_azure_blob(config: AzureBlobConfig, credentials: AzureBlobCredentials) -> AzureBlobDatastore:
    anonymous = not (credentials.connection_string or credentials.account_key or credentials.sas_token)
    connection_string = _connection_string(config, credentials)
    fs = AzureBlobFileSystem(
        connection_string=connection_string,
        anon=anonymous,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    # adlfs's client retries a refused connection for about a minute; a test of the connection should not
    fs.service_client = BlobServiceClient.from_connection_string(
        connection_string,
        retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2),
        connection_timeout=5,
        read_timeout=60,
    )
    return AzureBlobDatastore(fs, config.container, clean_prefix(config.prefix))


class AzureBlobDatastore(FsspecDatastore):
    kind = "azure_blob"

    def __init__(self, fs: AzureBlobFileSystem, container: str, prefix: str) -> None:
        super().__init__(fs, f"{container}/{prefix}" if prefix else container)
        self.container = container
        self.key_root = f"{prefix}/" if prefix else ""

    page_size: ClassVar[int] = 1000  # blobs per List Blobs request

    def iter_level(self, prefix: str, *, recursive: bool) -> Generator[FileEntry | str, None, None]:
        client = self.fs.service_client.get_container_client(self.container)
        options: dict[str, Any] = {
            "name_starts_with": self.key_root + prefix,
            "include": ["metadata"],
            "results_per_page": self.page_size,
        }
        listing = client.list_blobs(**options) if recursive else client.walk_blobs(delimiter="/", **options)
        for page in iterate_pages(self.fs, listing, size=self.page_size):
            for blob in page:
                yield from _entries(blob, len(self.key_root))

    def write(self, path: str, source: IO[bytes] | bytes) -> FileEntry:
        """Upload as staged blocks committed at the end (Put Block List): the blob appears whole or not at
        all, with no temporary blob and no server-side copy."""
        key = self.key_root + clean_path(path)

        async def upload() -> None:
            blob = self.fs.service_client.get_blob_client(self.container, key)
            await blob.upload_blob(SourceReader(source), overwrite=True)

        try:
            sync(self.fs.loop, upload)
        except SourceFailed as failed:
            raise failed.original from None
        except TesseraError:
            raise
        except Exception as error:
            raise self.explain(error) from error
        return self.stat(path)

    def explain(self, error: Exception) -> TesseraError:
        return explain_azure_error(error, self.container)


class SourceReader(io.RawIOBase):
    """`source` for the SDK to read, with read failures marked as the source's (not Azure's)."""

    def __init__(self, source: IO[bytes] | bytes) -> None:
        self.source: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self.source.read(size)
        except Exception as error:
            raise SourceFailed(error) from error


def _entries(blob: Any, skip: int) -> Generator[FileEntry | str, None, None]:
    path = str(blob.name)[skip:]
    if isinstance(blob, BlobPrefix):  # a sub-folder of a delimited listing
        yield path if path.endswith("/") else path + "/"
        return
    metadata = getattr(blob, "metadata", None) or {}
    if path and not path.endswith("/") and str(metadata.get("hdi_isfolder", "")).lower() != "true":
        yield FileEntry(path, int(blob.size), to_datetime(blob.last_modified), clean_etag(blob.etag))


def explain_azure_error(error: Exception, container: str) -> TesseraError:
    code = getattr(error, "error_code", None)
    if isinstance(error, ClientAuthenticationError) or code in (
        "AuthenticationFailed",
        "AuthorizationFailure",
    ):
        return StorageError(
            f"Azure refused the credentials ({code or 'authentication failed'}): check the key, SAS token or "
            "connection string",
            reason=StorageProblem.BAD_CREDENTIALS,
            field="credentials",
        )
    if isinstance(error, ResourceNotFoundError) or code == "ContainerNotFound":
        return StorageError(
            f"there is no container {container!r} in this storage account",
            reason=StorageProblem.MISSING_CONTAINER,
            field="config.container",
        )
    if isinstance(error, ServiceRequestError | ConnectionError | TimeoutError):
        return StorageError(
            f"the blob endpoint cannot be reached: {error}",
            reason=StorageProblem.UNREACHABLE,
            field="config.endpoint_url",
        )
    return unexpected(error)
