"""The `api` benchmark: idle RSS of `tessera serve`, and GET /api/projects latency over 1,000 calls with
1,000 projects (one page of the default size, and the largest page). Reference, same run: the latency of
/api/health (the floor of HTTP + framework + one query) and of the list's SQL alone."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.support import fresh_database, migrated, percentile, rss_mb, server, timed_calls
from tessera.accounts.models import WorkspaceRole
from tessera.accounts.service import create_api_token, create_user
from tessera.projects.models import TaskType
from tessera.projects.service import create_project, list_projects

CALLS = 1000
TASK_TYPES = list(TaskType)


def _populate(database_url: str, projects: int) -> str:
    database = migrated(database_url)
    with database.write() as session:
        admin = create_user(
            session, username="bench", password="bench-password", workspace_role=WorkspaceRole.admin
        )
        for index in range(projects):
            create_project(
                session,
                creator=admin,
                name=f"Project {index:07d}",
                task_type=TASK_TYPES[index % len(TASK_TYPES)],
                label_classes=[f"class {number}" for number in range(5)],
                instructions_markdown="Label every **visible** object.",
            )
        _, token = create_api_token(session, user=admin, name="bench")
    database.dispose()
    return token


def _raw_query_ms(database_url: str, calls: int) -> list[float]:
    database = migrated(database_url)
    samples = []
    with database.read() as session:
        for _ in range(calls):
            started = time.perf_counter()
            list_projects(session, member_id=None, after_id=0, limit=50)
            samples.append((time.perf_counter() - started) * 1000)
            session.expunge_all()
    database.dispose()
    return samples


def run(*, items: int | None, database: str | None) -> dict[str, Any]:
    projects = items or 1000
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as scratch:
        url = fresh_database(database, Path(scratch))
        token = _populate(url, projects)
        headers = {"Authorization": f"Bearer {token}"}
        with (
            server(url, Path(scratch) / "data") as (base, process),
            httpx.Client(base_url=base, headers=headers) as client,
        ):
            timed_calls(client, "/api/projects", 50)  # warm-up
            time.sleep(2)
            idle_rss = rss_mb(process)
            page = timed_calls(client, "/api/projects", CALLS)
            big_page = timed_calls(client, "/api/projects?limit=500", CALLS // 10)
            health = timed_calls(client, "/api/health", CALLS)
            loaded_rss = rss_mb(process)
        raw = _raw_query_ms(url, CALLS)
    return {
        "bench": "api",
        "params": {"projects": projects, "calls": CALLS, "database": url.split(":", 1)[0], "page_size": 50},
        "figures": {
            "idle_rss_mb": round(idle_rss, 1),
            "rss_after_calls_mb": round(loaded_rss, 1),
            "list_projects_p50_ms": round(percentile(page, 0.5), 2),
            "list_projects_p99_ms": round(percentile(page, 0.99), 2),
            "list_projects_500_p50_ms": round(percentile(big_page, 0.5), 2),
            "list_projects_500_p99_ms": round(percentile(big_page, 0.99), 2),
        },
        "reference": {
            "health_p50_ms": round(percentile(health, 0.5), 2),
            "health_p99_ms": round(percentile(health, 0.99), 2),
            "list_query_only_p50_ms": round(percentile(raw, 0.5), 2),
            "label_studio_idle_rss_mb_measured_earlier": 397,
        },
    }
