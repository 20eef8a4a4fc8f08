"""Where a datastore's file is, as a URL its consumers resolve: `file://` for local folders (pandas,
mltable and PIL open those), `s3://` and `gs://` for buckets (fsspec's schemes), and for Azure Blob the
account's `https://` URL when the account is known, else `az://`. Built from the config alone: no client,
no network."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote


def _key(config: Mapping[str, Any], path: str) -> str:
    prefix = str(config.get("prefix") or "").strip("/")
    return quote(f"{prefix}/{path}" if prefix else path, safe="/")


def file_url(kind: str, config: Mapping[str, Any], path: str) -> str:
    """The URL of `path` (a datastore-relative path, as items hold it) in a datastore of `kind`."""
    if kind == "local":
        return (Path(str(config["root"])) / path).as_uri()
    if kind == "s3":
        return f"s3://{config['bucket']}/{_key(config, path)}"
    if kind == "gcs":
        return f"gs://{config['bucket']}/{_key(config, path)}"
    if kind == "azure_blob":
        account = config.get("account_name")
        if account:
            return f"https://{account}.blob.core.windows.net/{config['container']}/{_key(config, path)}"
        return f"az://{config['container']}/{_key(config, path)}"
    raise ValueError(f"unknown datastore kind {kind!r}")
