"""Database errors that mean "busy, try again" rather than "broken": the API answers them 503 with
Retry-After instead of 500."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

# PostgreSQL: serialization failure, deadlock detected, lock not available (lock_timeout), query
# canceled (statement_timeout). SQLite: the write lock stayed taken past the busy timeout.
BUSY_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})
SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked")


def is_busy(error: BaseException) -> bool:
    """Did the database refuse for contention (the same request may well succeed a moment later)?"""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    message = str(original).lower()
    return type(original).__module__.startswith("sqlite3") and message.startswith(SQLITE_BUSY_MESSAGES)
