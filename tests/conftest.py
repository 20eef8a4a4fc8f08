"""Fixtures: a real database of each kind (SQLite and PostgreSQL) migrated to head once per test process,
emptied after every test; a runtime with the in-process runner; an API client; Redis for the RQ tests.

Tests commit for real (jobs run on other threads and in other processes, which only see committed rows),
so instead of rolling back, each test ends by emptying every table.
"""

from __future__ import annotations

import os

# Cheap password hashing in tests (argon2id's real costs would dominate the suite's time).
os.environ.setdefault("TESSERA_PASSWORD_TIME_COST", "1")
os.environ.setdefault("TESSERA_PASSWORD_MEMORY_KIB", "64")
os.environ["TESSERA_JOB_MODULES"] = '["tests.support.sample_jobs"]'

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tessera.api.app import create_app
from tessera.core.settings import Settings
from tessera.db.base import Base
from tessera.db.migrate import upgrade_database
from tessera.db.session import Database
from tessera.worker.runtime import Runtime
from tessera.worker.stages import load_stages
from tests.support.services import (
    POSTGRES_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
    postgres_unavailable_reason,
    redis_unavailable_reason,
    require_service,
)

load_stages(["tests.support.sample_jobs"])

DATABASE_KINDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session", params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database of each kind for this test process."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'tessera.db'}"
        return
    require_service("PostgreSQL", postgres_unavailable_reason(POSTGRES_ADMIN_URL))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = create_postgres_database(POSTGRES_ADMIN_URL, f"tessera_test_{worker}_{os.getpid()}")
    yield url
    drop_postgres_database(POSTGRES_ADMIN_URL, url)


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    upgrade_database(database.engine)
    yield database
    database.dispose()


def empty_tables(database: Database) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with database.write() as session:
        if database.engine.dialect.name == "postgresql":
            session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                session.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def db(migrated: Database) -> Iterator[Database]:
    """The migrated database, emptied after the test."""
    yield migrated
    empty_tables(migrated)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        job_heartbeat_seconds=0.2,
        job_stale_after_seconds=2.0,
        scheduler_interval_seconds=0.5,
        job_modules=["tests.support.sample_jobs"],
    )


@pytest.fixture
def runtime(db: Database, settings: Settings) -> Iterator[Runtime]:
    """The in-process runner over the test database (no scheduler thread: tests call it directly)."""
    active = Runtime.start(settings, database=db, scheduler=False)
    yield active
    active.stop()


@pytest.fixture
def client(runtime: Runtime, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime=runtime)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TESSERA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    require_service("Redis", redis_unavailable_reason(url))
    return url
