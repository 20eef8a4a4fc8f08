"""Build a datastore from what the database holds: its kind, its config (plain JSON) and its credentials
(decrypted; write-only in the API). Config and credentials are validated here, each problem reported as
`Invalid` with the key to fix (`config.bucket`, `credentials.account_key`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tessera.core.errors import Invalid
from tessera.storage.azure_blob import AzureBlobConfig, AzureBlobCredentials, build_azure_blob
from tessera.storage.gcs import GcsConfig, GcsCredentials, build_gcs
from tessera.storage.local import LocalConfig, LocalCredentials, LocalDatastore, confine_root
from tessera.storage.s3 import S3Config, S3Credentials, build_s3
from tessera.storage.types import Datastore

ModelT = TypeVar("ModelT", bound=BaseModel)

CONFIG_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "local": (LocalConfig, LocalCredentials),
    "s3": (S3Config, S3Credentials),
    "azure_blob": (AzureBlobConfig, AzureBlobCredentials),
    "gcs": (GcsConfig, GcsCredentials),
}
KINDS = tuple(CONFIG_MODELS)


def parse_model(model: type[ModelT], data: Mapping[str, Any], *, field: str) -> ModelT:
    """`data` as `model`, or `Invalid` naming every wrong key (secrets are never echoed back)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        problems = [
            {"field": ".".join([field, *(str(part) for part in item["loc"])]), "message": item["msg"]}
            for item in error.errors(include_input=False, include_url=False)
        ]
        message = "; ".join(f"{problem['field']}: {problem['message']}" for problem in problems)
        raise Invalid(message, details={"errors": problems}) from None


def build_local(config: LocalConfig, allowed_roots: Sequence[Path]) -> LocalDatastore:
    return LocalDatastore(confine_root(config.root, allowed_roots))


def build_datastore(
    kind: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, Any] | None = None,
    *,
    local_roots: Sequence[Path] = (),
) -> Datastore:
    """The datastore of `kind` ("local", "s3", "azure_blob", "gcs"). `local_roots` are the folders a local
    datastore may lie in (`Settings.resolved_local_datastore_roots()`). Nothing is contacted here: call
    `check()` to test the connection."""
    if kind not in CONFIG_MODELS:
        raise Invalid(f"must be one of {', '.join(KINDS)}", field="kind")
    config_model, credentials_model = CONFIG_MODELS[kind]
    parsed_config = parse_model(config_model, config, field="config")
    parsed_credentials = parse_model(credentials_model, credentials or {}, field="credentials")
    builders: dict[str, Callable[[Any, Any], Datastore]] = {
        "local": lambda parsed, _: build_local(parsed, local_roots),
        "s3": build_s3,
        "azure_blob": build_azure_blob,
        "gcs": build_gcs,
    }
    return builders[kind](parsed_config, parsed_credentials)
