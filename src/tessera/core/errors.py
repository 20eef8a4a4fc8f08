"""Domain errors. Services raise these; the API maps them to HTTP in one place (api/errors.py)."""

from __future__ import annotations

from typing import Any


class TesseraError(Exception):
    """Base of every domain error: a stable machine-readable `code`, a human message, optional details."""

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(TesseraError):
    code = "not_found"


class Conflict(TesseraError):
    code = "conflict"


class Invalid(TesseraError):
    """Bad input. `field` names what is wrong (dotted path, as the API shows it)."""

    code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        merged = dict(details or {})
        if field is not None:
            merged.setdefault("errors", [{"field": field, "message": message}])
        super().__init__(f"{field}: {message}" if field else message, details=merged)
        self.field = field


class FieldErrors:
    """What is wrong with an input's fields, gathered so that one refusal names every bad field (a
    settings form with two bad values hears of both at once)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        """`Invalid` naming every field added (as `Invalid(message, field=…)` when there is one)."""
        if len(self.errors) == 1:
            raise Invalid(self.errors[0]["message"], field=self.errors[0]["field"])
        if self.errors:
            message = "; ".join(f"{error['field']}: {error['message']}" for error in self.errors)
            raise Invalid(message, details={"errors": list(self.errors)})


class Unauthenticated(TesseraError):
    code = "unauthenticated"


class Forbidden(TesseraError):
    code = "forbidden"


class TooLarge(TesseraError):
    """More data than a limit allows; `limit_bytes` (in details too) is the limit."""

    code = "too_large"

    def __init__(self, message: str, *, limit_bytes: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={**(details or {}), "limit_bytes": limit_bytes})
        self.limit_bytes = limit_bytes
