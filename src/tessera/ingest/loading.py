"""Fast, idempotent item inserts: rows go in batches, each batch one short transaction; a row whose
(project, path, row) is already there is skipped, so a retried initialization continues where it stopped.

SQLite: one `INSERT OR IGNORE … executemany` per batch (no ORM objects). PostgreSQL: COPY into a
temporary table, then `INSERT … SELECT … ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tessera.core import clock
from tessera.db.session import Database
from tessera.items.models import ItemHealth, ItemState

COLUMNS = (
    "project_id",
    "dataset_version_id",
    "path",
    "row_index",
    "text",
    "rank",
    "state",
    "health",
    "health_reason",
    "size",
    "created_at",
)
BATCH_ROWS = 20_000
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite
STAGING_TABLE = (  # no id: the sequence is used once, by the final insert
    "CREATE TEMPORARY TABLE IF NOT EXISTS items_staging (project_id integer, dataset_version_id integer, "
    "path text, row_index integer, text text, rank integer, state text, health text, health_reason text, "
    "size bigint, created_at timestamptz) ON COMMIT DELETE ROWS"
)


@dataclass
class ItemWriter:
    """Collects item rows and inserts each full batch in its own transaction. (A background writing
    thread was measured slower here: the writer gives up the GIL at every row and waits behind the
    listing thread for it.) Call `close()` at the end; it returns how many rows were new."""

    database: Database
    project_id: int
    version_id: int
    seed: int
    batch_rows: int = BATCH_ROWS
    inserted: int = 0
    _rows: list[tuple[Any, ...]] = field(default_factory=list)
    _random: random.Random = field(init=False)
    _created_at: datetime | str = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(f"{self.project_id}:{self.seed}")  # noqa: S311 (an order, not a secret)
        moment = clock.now()
        sqlite = self.database.engine.dialect.name == "sqlite"
        self._created_at = moment.replace(tzinfo=None).strftime(SQLITE_DATETIME) if sqlite else moment
        self._insert = _insert_sqlite if sqlite else _insert_postgresql

    def add(
        self,
        path: str,
        *,
        row_index: int = 0,
        text: str | None = None,
        size: int | None = None,
        health: ItemHealth = ItemHealth.ok,
        reason: str | None = None,
    ) -> None:
        self._rows.append((
            self.project_id, self.version_id, path, row_index, text, self._random.getrandbits(31),
            ItemState.unlabeled.value, health.value, reason[:500] if reason else None, size, self._created_at,
        ))  # fmt: skip
        if len(self._rows) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            rows, self._rows = self._rows, []
            self.inserted += self._insert(self.database, rows)

    def close(self) -> int:
        self.flush()
        return self.inserted


def _insert_sqlite(database: Database, rows: list[tuple[Any, ...]]) -> int:
    marks = ", ".join("?" for _ in COLUMNS)
    statement = f"INSERT OR IGNORE INTO items ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
    with database.write() as session:
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        before = session.connection().exec_driver_sql("SELECT total_changes()").scalar_one()
        cursor.executemany(statement, rows)
        after = session.connection().exec_driver_sql("SELECT total_changes()").scalar_one()
        cursor.close()
    return int(after - before)


def _insert_postgresql(database: Database, rows: list[tuple[Any, ...]]) -> int:
    columns = ", ".join(COLUMNS)
    with database.write() as session:
        raw = session.connection().connection.driver_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(STAGING_TABLE)
            with cursor.copy(f"COPY items_staging ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO items ({columns}) SELECT {columns} FROM items_staging "  # noqa: S608
                "ON CONFLICT (project_id, path, row_index) DO NOTHING"
            )
            return int(cursor.rowcount)
