"""The one clock: timezone-aware UTC. Tests may freeze it by patching `now`."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; every stored datetime is UTC, so mark it as such."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
