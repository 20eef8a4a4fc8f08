"""Engines for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode (readers never block on the writer) with foreign keys on and a busy timeout.
Transactions are begun by us, not by the driver: read sessions issue `BEGIN` (deferred) and write sessions
`BEGIN IMMEDIATE`, so a writer takes the write lock up front and waits its turn under the busy timeout,
instead of failing half-way when a read lock cannot be upgraded (the Datasette way).
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

WRITE_OPTION = "tessera_write"
# A bulk write: rows whose parent rows the caller has just read (a load's project and version). SQLite then
# skips the per-row foreign key checks, a fifth of a large insert's time; the connection has them back
# when it returns to the pool. PostgreSQL ignores it.
BULK_OPTION = "tessera_bulk"
_CHECKS_OFF = "tessera_foreign_keys_off"
_HOLDS_TURN = "tessera_holds_writer_turn"


def create_db_engine(
    url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10, sqlite_cache_mb: int = 64
) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms, sqlite_cache_mb)
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_engine(url: str, busy_timeout_ms: int, cache_mb: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_size=16,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")  # negative: KiB
        cursor.close()

    turn = WriterTurn(busy_timeout_ms / 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(BULK_OPTION, False):  # only outside a transaction does this pragma take effect
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.connection.info[_CHECKS_OFF] = True
        if not options.get(WRITE_OPTION, False):
            connection.exec_driver_sql("BEGIN")
            return
        turn.take(connection.connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turn.give_back(connection.connection.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Connection) -> None:
        turn.give_back(connection.connection.info)

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        turn.give_back(record.info)  # a transaction that ended without commit or rollback
        if record.info.pop(_CHECKS_OFF, False):
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

    return engine


class WriterTurn:
    """The writers of one process take turns on a lock before SQLite's: they queue in order, where
    SQLite's own busy handler has each waiter sleep and poll (1, 2, 5 … 100 ms), so that under many
    threads a writer could miss the lock again and again and wait seconds while others got it in
    milliseconds. Waiting longer than the busy timeout fails as SQLite's would ("database is locked");
    other processes still meet at SQLite's lock."""

    def __init__(self, timeout_s: float) -> None:
        self._lock = threading.Lock()
        self._timeout_s = timeout_s

    def take(self, info: dict[Any, Any]) -> None:
        if not self._lock.acquire(timeout=self._timeout_s):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked (writer queue)")
            )
        info[_HOLDS_TURN] = True

    def give_back(self, info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_TURN, False):
            self._lock.release()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
