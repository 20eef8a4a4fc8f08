"""The `export` benchmark: an object-detection project of N labeled items (default 1,000,000; items and
their labels that count written directly with SQL, three boxes each, no files) exported through the real
export job (`formats.export`, in this process) to each format in TESSERA_BENCH_FORMATS (default
csv,coco,parquet,jsonl): seconds, items/s, the file's size, and the process's peak RSS above what it held
before (sampled every 50 ms). Reference, same run: a raw read of the same rows (the items joined to their
labels, each payload parsed) — the floor any export pays — and its items/s."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text

from bench.support import fresh_database, migrated, rss_mb
from tessera.accounts.models import WorkspaceRole
from tessera.accounts.service import create_user
from tessera.core import clock
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats.jobs import run_export
from tessera.formats.models import Export
from tessera.formats.records import ExportOptions
from tessera.formats.registry import get_export_format
from tessera.formats.service import EXPORT_JOB
from tessera.jobs.context import JobContext
from tessera.jobs.models import Job, JobStatus
from tessera.projects.models import TaskType
from tessera.projects.service import create_project
from tessera.worker.stages import load_stages

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
ITEMS = (
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1) "
    "INSERT INTO items (project_id, path, row_index, rank, state, health, width, height, created_at) "
    "SELECT :project, printf('d%05d/img%08d.jpg', i / 1000, i), 0, i, 'labeled', 'ok', 640, 480, :created "
    "FROM n"
)
POSTGRESQL_ITEMS = (
    "INSERT INTO items (project_id, path, row_index, rank, state, health, width, height, created_at) "
    "SELECT :project, format('d%s/img%s.jpg', lpad((i / 1000)::text, 5, '0'), lpad(i::text, 8, '0')), 0, i, "
    "'labeled', 'ok', 640, 480, now() FROM generate_series(0, :count - 1) AS i"
)
LABELS = (
    "INSERT INTO item_labels (item_id, project_id, payload, source, decided_at) "
    "SELECT id, project_id, :payload, 'single', created_at FROM items WHERE project_id = :project"
)
RAW_READ = (
    "SELECT items.id, items.path, items.width, items.height, item_labels.payload FROM items "
    "JOIN item_labels ON item_labels.item_id = items.id WHERE items.project_id = :project ORDER BY items.id"
)


def _populate(database: Database, count: int) -> int:
    with database.write() as session:
        admin = create_user(session, username="bench", password=None, workspace_role=WorkspaceRole.admin)
        project = create_project(
            session, creator=admin, name="Export bench", task_type=TaskType.object_detection,
            label_classes=["car", "person", "bicycle"],
        )  # fmt: skip
        ids = [label_class.id for label_class in project.label_classes]
        project_id = project.id
    boxes = [
        {"class_id": ids[index % 3], "x": 10.5 * index, "y": 20, "width": 64, "height": 48.25}
        for index in range(3)
    ]
    with database.bulk_write() as session:
        if database.engine.dialect.name == "sqlite":
            created = clock.now().replace(tzinfo=None).strftime(SQLITE_DATETIME)
            session.execute(text(ITEMS), {"count": count, "project": project_id, "created": created})
        else:
            session.execute(text(POSTGRESQL_ITEMS), {"count": count, "project": project_id})
        session.execute(text(LABELS), {"payload": json.dumps({"boxes": boxes}), "project": project_id})
    return project_id


def _raw_read(database: Database, project_id: int) -> float:
    started = time.perf_counter()
    rows = 0
    with database.read() as session:
        for row in session.execute(text(RAW_READ), {"project": project_id}).yield_per(1000):
            payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
            rows += len(payload["boxes"]) > 0
    return time.perf_counter() - started


class PeakRss:
    """The process's peak RSS while inside, sampled every 50 ms."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0.0
        self.done = threading.Event()

    def __enter__(self) -> PeakRss:
        self.before = rss_mb(self.process)
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.process))

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss_mb(self.process))


def _export(database: Database, settings: Settings, project_id: int, fmt: str) -> dict[str, Any]:
    get_export_format(fmt, TaskType.object_detection)  # a name it knows, or say so now
    with database.write() as session:  # what start_export writes, with the job claimed by this process
        export = Export(project_id=project_id, format=fmt, options=vars(ExportOptions()), message="bench")
        session.add(export)
        session.flush()
        params = {"export_id": export.id}
        job = Job(kind=EXPORT_JOB, params=params, project_id=project_id, status=JobStatus.running, attempts=1)
        session.add(job)
        session.flush()
        export.job_id, export_id, job_id = job.id, export.id, job.id
    context = JobContext(
        job_id=job_id, attempt=1, kind=EXPORT_JOB, params=params, project_id=project_id, database=database,
        settings=settings, worker="bench",
    )  # fmt: skip
    with PeakRss() as rss:
        started = time.perf_counter()
        run_export(context)
        seconds = time.perf_counter() - started
    with database.read() as session:
        done = session.get_one(Export, export_id)
        items, size = int(done.items or 0), int(done.size_bytes or 0)
    return {
        "seconds": round(seconds, 2), "items_per_s": round(items / seconds), "items": items,
        "file_mb": round(size / 2**20, 1), "peak_rss_mb": round(rss.peak, 1),
        "rss_above_start_mb": round(rss.peak - rss.before, 1),
    }  # fmt: skip


def run(*, items: int | None, database: str | None) -> dict[str, Any]:
    count = items or 1_000_000
    formats = (os.environ.get("TESSERA_BENCH_FORMATS") or "csv,coco,parquet,jsonl").split(",")
    load_stages()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as scratch:
        url = fresh_database(database, Path(scratch))
        db = migrated(url)
        settings = Settings(data_dir=Path(scratch) / "data", database_url=url)
        started = time.perf_counter()
        project_id = _populate(db, count)
        populated = time.perf_counter() - started
        raw = _raw_read(db, project_id)
        figures = {fmt: _export(db, settings, project_id, fmt) for fmt in formats}
        db.dispose()
    return {
        "bench": "export",
        "params": {
            "items": count,
            "task_type": "object_detection",
            "boxes_per_item": 3,
            "formats": formats,
            "database": url.split(":", 1)[0],
            "populate_s": round(populated, 1),
        },
        "figures": figures,
        "reference": {"raw_read_s": round(raw, 2), "raw_read_items_per_s": round(count / raw)},
    }
