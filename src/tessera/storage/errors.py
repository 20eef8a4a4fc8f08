"""The datastore's own domain error: why a datastore cannot be used, and which setting to fix."""

from __future__ import annotations

from enum import StrEnum

from tessera.core.errors import TesseraError


class StorageProblem(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    MISSING_CONTAINER = "missing_container"
    MISSING_ROOT = "missing_root"
    UNREACHABLE = "unreachable"
    UNREADABLE_CREDENTIALS = "unreadable_credentials"
    FAILED = "failed"


class StorageError(TesseraError):
    """A datastore refused or could not be reached. `reason` is a `StorageProblem`; `field` names the
    config or credentials key to fix (`credentials.account_key`, `config.bucket`), as the API shows it."""

    code = "storage_unavailable"

    def __init__(self, message: str, *, reason: StorageProblem, field: str | None = None) -> None:
        details: dict[str, object] = {"reason": reason.value}
        if field is not None:
            details["errors"] = [{"field": field, "message": message}]
        super().__init__(f"{field}: {message}" if field else message, details=details)
        self.reason = reason
        self.field = field
