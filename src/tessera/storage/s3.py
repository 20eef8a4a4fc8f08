"""Amazon S3 and S3-compatible servers (MinIO, Ceph, moto, …) through s3fs.

Without an access key the datastore is anonymous (public buckets): it never falls back to the server's own
AWS credentials (environment, instance profile), which a datastore's owner must not be able to borrow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from s3fs import S3FileSystem

from tessera.core.errors import TesseraError
from tessera.storage.base import FsspecDatastore, clean_etag, iterate_pages, to_datetime, unexpected
from tessera.storage.errors import StorageError, StorageProblem
from tessera.storage.paths import clean_prefix
from tessera.storage.types import FileEntry

BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
}
MISSING_CODES = {"NoSuchBucket", "404"}


class S3Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str = Field(pattern=BUCKET_NAME, description="Bucket name.")
    prefix: str = Field("", description="Folder inside the bucket that is the datastore's root.")
    endpoint_url: str | None = Field(
        None, pattern=r"^https?://", description="S3-compatible server's URL; unset: AWS."
    )
    region: str | None = Field(None, description="Region name (AWS: the bucket's region).")


class S3Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> S3Credentials:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give both access_key_id and secret_access_key, or neither (anonymous)")
        return self


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_s3(config: S3Config, credentials: S3Credentials) -> S3Datastore:
    fs = S3FileSystem(
        anon=credentials.access_key_id is None,
        key=credentials.access_key_id,
        secret=_secret(credentials.secret_access_key),
        token=_secret(credentials.session_token),
        endpoint_url=config.endpoint_url,
        client_kwargs={"region_name": config.region} if config.region else {},
        config_kwargs={"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 2}},
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.retries = 2  # s3fs's own retries on top of botocore's (a class attribute, 5 by default)
    return S3Datastore(fs, config.bucket, clean_prefix(config.prefix))


class S3Datastore(FsspecDatastore):
    kind = "s3"

    def __init__(self, fs: S3FileSystem, bucket: str, prefix: str) -> None:
        super().__init__(fs, f"{bucket}/{prefix}" if prefix else bucket)
        self.bucket = bucket
        self.key_root = f"{prefix}/" if prefix else ""

    page_size: ClassVar[int] = 1000  # keys per ListObjectsV2 request (S3's maximum)

    async def _list_pages(self, prefix: str, delimiter: str) -> AsyncIterator[dict[str, Any]]:
        """One ListObjectsV2 response at a time (s3fs retries each request)."""
        request = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": delimiter, "MaxKeys": self.page_size}
        while True:
            page = await self.fs._call_s3("list_objects_v2", **request)
            yield page
            if not page.get("IsTruncated"):
                return
            request["ContinuationToken"] = page["NextContinuationToken"]

    def iter_level(self, prefix: str, *, recursive: bool) -> Generator[FileEntry | str, None, None]:
        listing = self._list_pages(self.key_root + prefix, "" if recursive else "/")
        skip = len(self.key_root)
        for pages in iterate_pages(self.fs, listing, size=1):
            for page in pages:
                yield from _entries(page, skip)

    def explain(self, error: Exception) -> TesseraError:
        return explain_s3_error(error, self.bucket)


def _entries(page: dict[str, Any], skip: int) -> Generator[FileEntry | str, None, None]:
    for folder in page.get("CommonPrefixes", []):
        yield str(folder["Prefix"])[skip:]
    for item in page.get("Contents", []):
        path = str(item["Key"])[skip:]
        if path and not path.endswith("/"):  # "folder/" placeholder objects are not files
            yield FileEntry(
                path, int(item["Size"]), to_datetime(item.get("LastModified")), clean_etag(item.get("ETag"))
            )


def _error_code(error: BaseException) -> str | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ClientError):
            return str(seen.response.get("Error", {}).get("Code"))
        seen = seen.__cause__ or seen.__context__
    return None


def _caused_by(error: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def explain_s3_error(error: Exception, bucket: str) -> TesseraError:
    code = _error_code(error)
    if code in CREDENTIAL_CODES or (code is None and isinstance(error, PermissionError)):
        return StorageError(
            f"the server refused the credentials ({code or error}): check the access key and secret",
            reason=StorageProblem.BAD_CREDENTIALS,
            field="credentials.access_key_id",
        )
    if code in MISSING_CODES or (code is None and isinstance(error, FileNotFoundError)):
        return StorageError(
            f"there is no bucket {bucket!r} (or it is not visible with these credentials)",
            reason=StorageProblem.MISSING_CONTAINER,
            field="config.bucket",
        )
    if _caused_by(error, (BotoConnectionError, ConnectionError, TimeoutError)):
        return StorageError(
            f"the S3 endpoint cannot be reached: {error}",
            reason=StorageProblem.UNREACHABLE,
            field="config.endpoint_url",
        )
    return unexpected(error)
