"""Domain errors → HTTP, in one place. Every error body is `{code, message, details}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tessera.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TesseraError,
    TooLarge,
    Unauthenticated,
)
from tessera.db.errors import is_busy
from tessera.storage import StorageError, StorageProblem

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[TesseraError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    TooLarge: 413,
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


# A datastore that cannot be reached is the upstream's fault (502); one whose settings are wrong is the
# caller's to fix (422, naming the config or credentials field).
STORAGE_UPSTREAM_PROBLEMS = frozenset({StorageProblem.UNREACHABLE, StorageProblem.FAILED})


def _status_for(error: TesseraError) -> int:
    if isinstance(error, StorageError):
        return 502 if error.reason in STORAGE_UPSTREAM_PROBLEMS else 422
    for error_type, status in STATUS_BY_ERROR.items():
        if isinstance(error, error_type):
            return status
    return 400


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TesseraError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthenticated) else None
    return JSONResponse(
        error_body(error.code, error.message, error.details), status_code=_status_for(error), headers=headers
    )


def _field_path(item: dict[str, Any]) -> str:
    parts = [str(part) for part in item.get("loc", ())]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {
            "field": "body" if item.get("type") == "json_invalid" else _field_path(item),
            "message": str(item.get("msg", "invalid")),
        }
        for item in error.errors()
    ]
    message = "; ".join(f"{problem['field']}: {problem['message']}" for problem in problems)
    return JSONResponse(error_body("invalid", message, {"errors": problems}), status_code=422)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return JSONResponse(
        error_body(f"http_{error.status_code}", str(error.detail)),
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


RETRY_AFTER_S = 1


async def _unexpected_error(_request: Request, error: Exception) -> JSONResponse:
    if is_busy(error):  # contention, not a fault: nothing was written, the same request may be sent again
        log.warning("database busy: %s", error.__class__.__name__)
        return JSONResponse(
            error_body("busy", "the database is busy; nothing was changed, try again in a moment"),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    log.error("unhandled error", exc_info=error)
    return JSONResponse(
        error_body("internal", "an unexpected error happened; the server log has details"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(TesseraError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
