"""Sessions and transactions: every state change is one `with database.write() as session:` block.

`on_commit(session, callback)` runs a callback only once the transaction that registered it has committed
(jobs are enqueued this way, so a worker never sees a job whose rows are not yet visible).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from tessera.db.engine import BULK_OPTION, WRITE_OPTION, create_db_engine

_AFTER_COMMIT_KEY = "tessera_after_commit"
log = logging.getLogger(__name__)


class Database:
    """One engine and the two kinds of session over it: read (deferred BEGIN) and write (BEGIN IMMEDIATE)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Shared with every session (session.info): stages above keep per-database services here,
        # e.g. the job runner, without this layer knowing them.
        self.info: dict[str, Any] = {}
        self.read_sessions = sessionmaker(bind=engine, expire_on_commit=False, info=self.info)
        self.write_sessions = sessionmaker(
            bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False, info=self.info
        )
        self.bulk_sessions = sessionmaker(
            bind=engine.execution_options(**{WRITE_OPTION: True, BULK_OPTION: True}),
            expire_on_commit=False,
            info=self.info,
        )

    @classmethod
    def from_url(
        cls, url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10, sqlite_cache_mb: int = 64
    ) -> Database:
        return cls(
            create_db_engine(
                url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size, sqlite_cache_mb=sqlite_cache_mb
            )
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back on any error."""
        with self.write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def bulk_write(self) -> Iterator[Session]:
        """A write transaction for a bulk load whose rows refer only to parent rows the caller has just
        read: on SQLite it skips the per-row foreign key checks (see `BULK_OPTION`)."""
        with self.bulk_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after the session's current transaction commits; drop it if it rolls back."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    """The data is stored: a failing callback is logged, never turned into an error of the commit, and
    the others still run (jobs not handed over are found again by the scheduler)."""
    callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed; the transaction itself is committed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, _previous_transaction: object) -> None:
    if not session.in_transaction():
        session.info.pop(_AFTER_COMMIT_KEY, None)
