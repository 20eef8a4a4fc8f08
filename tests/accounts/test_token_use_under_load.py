"""Recording a token's use must not need a second connection while a read request holds one: with a pool
of one connection (plus one overflow) concurrent GETs with a fresh token all answer promptly."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import ApiToken
from tessera.api.app import create_app
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.worker.runtime import Runtime
from tests.support.factories import bearer, make_token, make_user
from tests.support.polling import wait_for


def test_concurrent_reads_with_a_fresh_token_do_not_starve_the_pool(
    db: Database, settings: Settings, database_url: str
) -> None:
    with db.write() as session:
        secret = make_token(session, make_user(session, "sdk"))
    small = Database.from_url(database_url, pool_size=1)
    small.engine.pool._timeout = 5  # type: ignore[attr-defined]  # fail fast instead of after 30 s
    runtime = Runtime.start(settings, database=small, scheduler=False)
    app = create_app(settings, runtime=runtime)

    def fetch(_: int) -> int:
        with TestClient(app) as client:
            return client.get("/api/projects", headers=bearer(secret)).status_code

    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(fetch, range(8)))
        elapsed = time.monotonic() - started
    finally:
        runtime.stop()
        small.dispose()
    assert statuses == [200] * 8
    assert elapsed < 5
    with db.read() as session:
        wait_for(
            lambda: session.scalar(select(ApiToken.last_used_at)), lambda used: used is not None, timeout=5
        )
