"""Google Cloud Storage through gcsfs, with a service account's JSON key (or anonymous, for public buckets).

Without a key the datastore is anonymous: it never falls back to the server's own Google credentials.
Not exercised against a server in the tests (there is no GCS emulator in the test set-up): see
docs/storage.md.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Generator
from typing import Any

from gcsfs import GCSFileSystem
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tessera.core.errors import TesseraError
from tessera.storage.base import FsspecDatastore, clean_etag, iterate_pages, to_datetime, unexpected
from tessera.storage.errors import StorageError, StorageProblem
from tessera.storage.paths import clean_prefix
from tessera.storage.types import FileEntry

BUCKET_NAME = r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$"


class GcsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str = Field(pattern=BUCKET_NAME, description="Bucket name.")
    prefix: str = Field("", description="Folder inside the bucket that is the datastore's root.")
    project: str | None = Field(None, description="Google Cloud project (billing for requester-pays).")
    endpoint_url: str | None = Field(
        None, pattern=r"^https?://", description="Storage API URL; unset: Google's. For emulators."
    )


class GcsCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service_account_json: SecretStr | None = Field(None, description="The service account's JSON key file.")

    @field_validator("service_account_json")
    @classmethod
    def _is_a_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            key = json.loads(value.get_secret_value())
        except ValueError:
            raise ValueError("is not JSON: paste the whole service-account key file") from None
        if not isinstance(key, dict) or key.get("type") != "service_account":
            raise ValueError('is not a service-account key (its "type" must be "service_account")')
        return value


def build_gcs(config: GcsConfig, credentials: GcsCredentials) -> GcsDatastore:
    secret = credentials.service_account_json
    with warnings.catch_warnings():  # "project not set - cannot list or create buckets": we never do
        warnings.simplefilter("ignore", UserWarning)
        fs = GCSFileSystem(
            project=config.project,
            token=json.loads(secret.get_secret_value()) if secret else "anon",
            endpoint_url=config.endpoint_url,
            skip_instance_cache=True,
            use_listings_cache=False,
        )
    return GcsDatastore(fs, config.bucket, clean_prefix(config.prefix))


class GcsDatastore(FsspecDatastore):
    kind = "gcs"

    def __init__(self, fs: GCSFileSystem, bucket: str, prefix: str) -> None:
        super().__init__(fs, f"{bucket}/{prefix}" if prefix else bucket)
        self.bucket = bucket
        self.key_root = f"{prefix}/" if prefix else ""

    async def _list_objects(self, prefix: str, delimiter: str) -> AsyncIterator[dict[str, Any]]:
        """One object (or {"prefix": …} for a sub-folder) at a time, fetching 1,000 per request."""
        token: str | None = None
        while True:
            page = await self.fs._call(
                "GET", "b/{}/o", self.bucket, json_out=True, prefix=prefix or None,
                delimiter=delimiter or None, maxResults=1000, pageToken=token,
            )  # fmt: skip
            for folder in page.get("prefixes", []):
                yield {"prefix": folder}
            for item in page.get("items", []):
                yield item
            token = page.get("nextPageToken")
            if not token:
                return

    def iter_level(self, prefix: str, *, recursive: bool) -> Generator[FileEntry | str, None, None]:
        listing = self._list_objects(self.key_root + prefix, "" if recursive else "/")
        skip = len(self.key_root)
        for page in iterate_pages(self.fs, listing):
            for item in page:
                if "prefix" in item:
                    yield str(item["prefix"])[skip:]
                elif not item["name"].endswith("/"):
                    yield FileEntry(
                        str(item["name"])[skip:],
                        int(item.get("size", 0)),
                        to_datetime(item.get("updated")),
                        clean_etag(item.get("etag") or item.get("md5Hash")),
                    )

    def explain(self, error: Exception) -> TesseraError:
        return explain_gcs_error(error, self.bucket)


def explain_gcs_error(error: Exception, bucket: str) -> TesseraError:
    status = getattr(error, "code", None)
    if isinstance(error, PermissionError) or status in (401, 403):
        return StorageError(
            f"Google Cloud Storage refused the credentials: {error}",
            reason=StorageProblem.BAD_CREDENTIALS,
            field="credentials.service_account_json",
        )
    if isinstance(error, FileNotFoundError) or status == 404:
        return StorageError(
            f"there is no bucket {bucket!r} (or it is not visible with these credentials)",
            reason=StorageProblem.MISSING_CONTAINER,
            field="config.bucket",
        )
    if isinstance(error, ConnectionError | TimeoutError) or "ClientConnectorError" in type(error).__name__:
        return StorageError(
            f"the storage endpoint cannot be reached: {error}",
            reason=StorageProblem.UNREACHABLE,
            field="config.endpoint_url",
        )
    return unexpected(error)
