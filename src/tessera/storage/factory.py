"""Build a datastore from what the database holds: its kind, its config (plain JSON) and its credentials
(decrypted; write-only in the API). Config and credentials are validated here, each problem reported as
`Invalid` with the key to fix (`config.bucket`, `credentials.account_key`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tessera.core.errors import Invalid
from tessera.storage.local import LocalConfig, LocalCredentials, LocalDatastore, confine_root
from tessera.storage.types import Datastore

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Backend:
    """Where a cloud backend lives. Its module (and its SDK: boto, the Azure SDK, gcsfs — tens of MB and
    a second of imports) is imported the first time a datastore of that kind is built, not at start-up."""

    module: str
    config: str
    credentials: str
    build: str

    def load(self) -> tuple[type[BaseModel], type[BaseModel], Callable[[Any, Any], Datastore]]:
        module = importlib.import_module(self.module)
        return getattr(module, self.config), getattr(module, self.credentials), getattr(module, self.build)


CLOUD_BACKENDS: dict[str, Backend] = {
    "s3": Backend("tessera.storage.s3", "S3Config", "S3Credentials", "build_s3"),
    "azure_blob": Backend(
        "tessera.storage.azure_blob", "AzureBlobConfig", "AzureBlobCredentials", "build_azure_blob"
    ),
    "gcs": Backend("tessera.storage.gcs", "GcsConfig", "GcsCredentials", "build_gcs"),
}
KINDS = ("local", *CLOUD_BACKENDS)


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
    if kind not in KINDS:
        raise Invalid(f"must be one of {', '.join(KINDS)}", field="kind")
    if kind == "local":
        parse_model(LocalCredentials, credentials or {}, field="credentials")
        return build_local(parse_model(LocalConfig, config, field="config"), local_roots)
    config_model, credentials_model, build = CLOUD_BACKENDS[kind].load()
    parsed_config = parse_model(config_model, config, field="config")
    parsed_credentials = parse_model(credentials_model, credentials or {}, field="credentials")
    return build(parsed_config, parsed_credentials)
