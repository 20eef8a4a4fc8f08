"""Fast, idempotent item inserts: rows go in batches, each batch one short transaction; a row whose
(project, path, row) is already there is skipped, so a retried initialization continues where it stopped.
After the rows, `write_order` puts the new items into the project's labeling order in one sorted pass.

SQLite: one `INSERT OR IGNORE` per batch, no ORM objects; whole-file items come from one JSON array of
(path, rank, size) unpacked by SQLite (the rest of the row is the same for the whole load),
and each batch goes in sorted by path, so the unique index is appended to rather than scattered over.
PostgreSQL: COPY into a temporary table, then `INSERT … SELECT … ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from tessera.core import clock
from tessera.db.engine import BULK_OPTION, WRITE_OPTION
from tessera.db.session import Database
from tessera.items.counts import add_counts
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
BATCH_ROWS = 50_000  # fewer commits: each rewrites the index's hot pages into the WAL
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite
STAGING_TABLE = (  # no id: the sequence is used once, by the final insert
    "CREATE TEMPORARY TABLE IF NOT EXISTS items_staging (project_id integer, dataset_version_id integer, "
    "path text, row_index integer, text text, rank integer, state text, health text, health_reason text, "
    "size bigint, created_at timestamptz) ON COMMIT DELETE ROWS"
)
# A load's items into the labeling order, sorted, so that they are appended rather than scattered; rows
# already there (a retried load) are left as they are. A whole project (its initialization) is read through
# the unique index's leading column; a refresh's few new items by the id range of its version.
ORDER_PROJECT = (
    "INSERT INTO item_order (project_id, rank, item_id) "
    "SELECT project_id, rank, id FROM items WHERE project_id = :project ORDER BY rank, id"
)
# SQLite, a whole project: sorted once into the connection's temporary table, then copied a chunk at a time.
ORDER_CHUNK_ROWS = 250_000  # about a quarter of a second of write lock each
ORDER_STAGING = (
    "CREATE TEMPORARY TABLE order_staging AS "
    "SELECT rank, id FROM items WHERE project_id = ? ORDER BY rank, id"
)
ORDER_FROM_STAGING = (
    "INSERT OR IGNORE INTO item_order (project_id, rank, item_id) "
    "SELECT ?, rank, id FROM temp.order_staging WHERE rowid > ? AND rowid <= ? ORDER BY rowid"
)
ORDER_VERSION = (
    "INSERT INTO item_order (project_id, rank, item_id) "
    "SELECT project_id, rank, id FROM items WHERE id > :after AND dataset_version_id = :version "
    "ORDER BY project_id, rank, id"
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
    _files: list[tuple[str, int, int | None]] = field(default_factory=list)  # path, rank, size
    _rows: list[tuple[Any, ...]] = field(default_factory=list)  # every column
    _random: random.Random = field(init=False)
    _created_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(f"{self.project_id}:{self.seed}")  # noqa: S311 (an order, not a secret)
        self._created_at = clock.now()
        self._sqlite = self.database.engine.dialect.name == "sqlite"

    def add_files(self, files: list[tuple[str, int | None]]) -> None:
        """Whole files that are one healthy item each (path, size): the common case, kept cheap."""
        bits = self._random.getrandbits
        self._files.extend([(path, bits(31), size) for path, size in files])
        if len(self._files) >= self.batch_rows:
            self.flush()

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
        rank = self._random.getrandbits(31)
        self._rows.append(
            self._row(path, rank, size, row_index=row_index, text=text, health=health, reason=reason)
        )
        if len(self._rows) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        files, self._files = self._files, []
        rows, self._rows = self._rows, []
        if self._sqlite:
            self.inserted += _insert_sqlite(
                self.database, self.project_id, self._file_statement(), files, rows
            )
        elif files or rows:
            self.inserted += _insert_postgresql(
                self.database, self.project_id, [*map(self._full_row, files), *rows]
            )

    def close(self) -> int:
        self.flush()
        return self.inserted

    def _full_row(self, file: tuple[str, int, int | None]) -> tuple[Any, ...]:
        return self._row(*file)

    def _row(
        self,
        path: str,
        rank: int,
        size: int | None,
        *,
        row_index: int = 0,
        text: str | None = None,
        health: ItemHealth = ItemHealth.ok,
        reason: str | None = None,
    ) -> tuple[Any, ...]:
        """Every column of one item row, in the order of COLUMNS."""
        return (
            self.project_id, self.version_id, path, row_index, text, rank,
            ItemState.unlabeled.value, health.value, reason[:500] if reason else None, size, self._created_at,
        )  # fmt: skip

    def _file_statement(self) -> str:
        """The whole-file insert: one statement per batch whose rows come from one JSON array of
        [path, rank, size] (SQLite unpacks it in C: a sixth faster than binding row by row); the rest of
        the row is the same for the whole load (integers and our own constants, never outside text)."""
        created = self._created_at.replace(tzinfo=None).strftime(SQLITE_DATETIME)
        values = (
            f"{int(self.project_id)}, {int(self.version_id)}, json_extract(value, '$[0]'), 0, NULL, "
            f"json_extract(value, '$[1]'), '{ItemState.unlabeled.value}', '{ItemHealth.ok.value}', NULL, "
            f"json_extract(value, '$[2]'), '{created}'"
        )
        return f"INSERT OR IGNORE INTO items ({', '.join(COLUMNS)}) SELECT {values} FROM json_each(?)"  # noqa: S608


def write_order(database: Database, *, project_id: int, version_id: int, after_id: int | None) -> None:
    """Put a load's items into the project's labeling order: all of the project's (`after_id` None), or
    those of `version_id` with ids past `after_id`."""
    if after_id is None and database.engine.dialect.name == "sqlite":
        _write_order_sqlite_chunked(database, project_id)
        return
    statement, values = (
        (ORDER_PROJECT, {"project": project_id})
        if after_id is None
        else (ORDER_VERSION, {"after": after_id, "version": version_id})
    )
    if database.engine.dialect.name == "sqlite":
        statement = statement.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
    else:
        statement += " ON CONFLICT DO NOTHING"
    with database.bulk_write() as session:  # the project was read by the load, the items just written
        session.execute(text(statement), values)


def _write_order_sqlite_chunked(database: Database, project_id: int, chunk: int = ORDER_CHUNK_ROWS) -> None:
    """A whole project's order on SQLite, where one writer at a time holds the database: the sorted
    (rank, id) pairs go first into a temporary table (SQLite's temp database: no lock on the main one,
    so other projects' writers go on), then into `item_order` a chunk of rows per transaction, each a
    short hold of the write lock, taken like every other write (the process's writer turn, then BEGIN
    IMMEDIATE, foreign key checks off for the rows just loaded). One connection throughout: a temporary
    table is the connection's."""
    with database.engine.connect() as connection:
        try:
            with connection.begin():  # a read of the main database
                connection.exec_driver_sql(ORDER_STAGING, (project_id,))
                total = connection.exec_driver_sql(
                    "SELECT coalesce(max(rowid), 0) FROM temp.order_staging"
                ).scalar_one()
            writer = connection.execution_options(**{WRITE_OPTION: True, BULK_OPTION: True})
            for start in range(0, int(total), chunk):
                with writer.begin():
                    writer.exec_driver_sql(ORDER_FROM_STAGING, (project_id, start, start + chunk))
        finally:
            with connection.begin():
                connection.exec_driver_sql("DROP TABLE IF EXISTS temp.order_staging")


def last_item_id(database: Database) -> int:
    """The largest item id so far: a load's new items all come after it."""
    with database.read() as session:
        return int(session.execute(text("SELECT coalesce(max(id), 0) FROM items")).scalar_one())


def _insert_sqlite(
    database: Database,
    project_id: int,
    file_statement: str,
    files: list[tuple[str, int, int | None]],
    rows: list[Any],
) -> int:
    if not files and not rows:
        return 0
    files.sort()  # listings are mostly in path order already: the unique index is appended to
    rows.sort(key=_path_and_row)  # text rows too, so ids follow paths on every file system
    marks = ", ".join("?" for _ in COLUMNS)
    statement = f"INSERT OR IGNORE INTO items ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
    with database.bulk_write() as session:  # the project and version were read by the load
        connection = session.connection()
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        before = connection.exec_driver_sql("SELECT total_changes()").scalar_one()
        if files:
            cursor.execute(file_statement, (json.dumps(files, ensure_ascii=False),))
        if rows:
            created = rows[0][-1].replace(tzinfo=None).strftime(SQLITE_DATETIME)
            cursor.executemany(statement, [(*row[:-1], created) for row in rows])
        after = connection.exec_driver_sql("SELECT total_changes()").scalar_one()
        cursor.close()
        inserted = int(after - before)
        add_counts(session, project_id, {ItemState.unlabeled.value: inserted})  # in step, same transaction
    return inserted


def _path_and_row(row: Any) -> tuple[str, int]:
    return row[PATH_COLUMN], row[ROW_COLUMN]


PATH_COLUMN, ROW_COLUMN = COLUMNS.index("path"), COLUMNS.index("row_index")


def _insert_postgresql(database: Database, project_id: int, rows: list[tuple[Any, ...]]) -> int:
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
                'ORDER BY path COLLATE "C", row_index ON CONFLICT (project_id, path, row_index) DO NOTHING'
            )
            inserted = int(cursor.rowcount)
        add_counts(session, project_id, {ItemState.unlabeled.value: inserted})
    return inserted
