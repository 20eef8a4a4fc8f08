"""The database layer: migrations agree with the models; SQLite runs WAL with foreign keys and a busy
timeout; a write transaction is all or nothing; after-commit callbacks run only after a commit."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from tessera.db.base import Base
from tessera.db.errors import is_busy
from tessera.db.migrate import current_revision, head_revision
from tessera.db.session import Database, on_commit
from tessera.projects.models import Project
from tests.support.factories import make_project, make_user


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert current_revision(db.engine) == head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'pragmas.db'}", busy_timeout_ms=1234)
    try:
        with database.read() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 1234
    finally:
        database.dispose()


def test_a_failing_write_transaction_leaves_nothing(db: Database) -> None:
    with db.write() as session:
        owner = make_user(session)
    with pytest.raises(RuntimeError), db.write() as session:
        make_project(session, owner, name="half")
        raise RuntimeError("fail after the insert")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 0


def test_after_commit_callbacks_run_only_after_commit(db: Database) -> None:
    seen: list[str] = []
    with pytest.raises(RuntimeError), db.write() as session:
        on_commit(session, lambda: seen.append("rolled back"))
        raise RuntimeError("roll back")
    with db.write() as session:
        make_user(session)

        def check_committed() -> None:
            with db.read() as reader:  # another connection sees the row: the commit happened first
                seen.append(f"users={len(reader.execute(text('SELECT id FROM users')).all())}")

        on_commit(session, check_committed)
        assert seen == []
    assert seen == ["users=1"]


def test_concurrent_writers_wait_their_turn_instead_of_failing(db: Database) -> None:
    """BEGIN IMMEDIATE on SQLite (row locks on PostgreSQL): 8 threads × 10 writes all land."""
    errors: list[BaseException] = []

    def write_users(thread: int) -> None:
        try:
            for index in range(10):
                with db.write() as session:
                    session.execute(select(func.count()).select_from(Project)).scalar()  # read, then write
                    make_user(session, f"t{thread}-{index}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write_users, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as session:
        assert len(session.execute(text("SELECT id FROM users")).all()) == 80


def test_a_failing_after_commit_callback_neither_undoes_nor_hides_the_commit(db: Database) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise ConnectionError("the queue is down")

    with db.write() as session:
        make_user(session, "kept")
        on_commit(session, broken)
        on_commit(session, lambda: ran.append("second"))
    assert ran == ["second"]
    with db.read() as session:
        assert len(session.execute(text("SELECT id FROM users")).all()) == 1


def test_the_writer_turn_is_given_back_however_a_transaction_ends(tmp_path: Path) -> None:
    """SQLite's in-process writer queue: committed, rolled back, refused at BEGIN by another process's
    lock, or waited on past the busy timeout (a busy error, 503 in the API): the next writer goes on."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'turn.db'}", busy_timeout_ms=100)
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(RuntimeError), db.write() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("rolled back")
        other = sqlite3.connect(tmp_path / "turn.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError) as refused, db.write() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        other.execute("ROLLBACK")
        other.close()
        assert is_busy(refused.value) and "writer queue" not in str(
            refused.value
        )  # the rollback gave it back
        holding, release = threading.Event(), threading.Event()

        def hold() -> None:
            with db.write() as session:
                session.execute(text("INSERT INTO t VALUES (3)"))
                holding.set()
                release.wait(5)

        holder = threading.Thread(target=hold)
        holder.start()
        holding.wait(5)
        with pytest.raises(OperationalError) as queued, db.write() as session:
            session.execute(text("INSERT INTO t VALUES (4)"))
        release.set()
        holder.join()
        assert is_busy(queued.value) and "writer queue" in str(queued.value)
        with db.write() as session:
            session.execute(text("INSERT INTO t VALUES (5)"))
        with db.read() as session:
            assert session.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [3, 5]
    finally:
        db.dispose()
