"""The `ingest` and `refresh` benchmarks.

`ingest`: a folder of N image files (empty files: only the listing and the rows matter here) becomes a
project's items through the real `ingest.initialize` job; figures: items/s end to end and the job's peak
RSS. Reference, same run: the raw SQLite `executemany` rate of the same rows into a table of the same shape
(the physical limit), and the raw `os.scandir` listing rate of the same folder.

`refresh`: after that, 1,000 new files appear; figures: the `ingest.refresh` job's seconds and new items.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench.support import fresh_database, migrated
from tessera.accounts.models import WorkspaceRole
from tessera.accounts.service import create_user
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.loading import COLUMNS
from tessera.ingest.models import Media
from tessera.ingest.service import (
    attach_dataset,
    create_dataset,
    create_datastore,
    get_dataset,
    start_refresh,
)
from tessera.jobs.execution import execute_job
from tessera.jobs.runner import attach_runner
from tessera.projects.models import TaskType
from tessera.projects.service import create_project, get_project

FILES_PER_FOLDER = 1000
NEW_FILES = 1000


class _Collector:
    """A runner that only collects job ids: the benchmark runs each job itself, in this thread."""

    name = "bench"

    def __init__(self) -> None:
        self.jobs: list[int] = []

    def submit(self, job_id: int) -> None:
        self.jobs.append(job_id)

    def close(self) -> None:
        pass


def make_files(root: Path, count: int, *, start: int = 0) -> None:
    for index in range(start, start + count):
        folder = root / f"d{index // FILES_PER_FOLDER:05d}"
        if index % FILES_PER_FOLDER == 0 or index == start:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img{index:08d}.jpg").touch()


@contextmanager
def peak_rss() -> Iterator[list[float]]:
    """Samples this process's RSS every 50 ms; the list holds the peak (MB) once the block ends."""
    process, peak, stop = psutil.Process(), [0.0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss / 2**20)
            stop.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def _setup(database: Database, settings: Settings, root: Path) -> tuple[int, int]:
    """A project and a dataset over `root`; returns (project id, dataset id)."""
    with database.write() as session:
        owner = create_user(
            session, username="bench", password="bench-password", workspace_role=WorkspaceRole.admin
        )
        project = create_project(
            session,
            creator=owner,
            name="Bench",
            task_type=TaskType.object_detection,
            label_classes=["car", "person"],
        )
        store = create_datastore(
            session,
            settings=settings,
            name="bench",
            kind="local",
            config={"root": str(root)},
            credentials=None,
            created_by_id=None,
        )
        dataset = create_dataset(
            session,
            name="bench",
            datastore=store,
            patterns=["**"],
            media=Media.image,
            text_column=None,
            created_by_id=None,
        )
        return project.id, dataset.id


def _run_job(database: Database, settings: Settings, collector: _Collector) -> float:
    job_id = collector.jobs.pop()
    started = time.perf_counter()
    status = execute_job(database, job_id, worker="bench", settings=settings)
    if status is None or status.value != "succeeded":
        raise SystemExit(f"job {job_id} ended {status}")
    return time.perf_counter() - started


def raw_sqlite_rows_per_s(rows: int, scratch: Path) -> float:
    """The same rows (every column bound), the same table shape and index, in path order, one raw
    executemany in one transaction: the physical limit of the insert alone."""
    connection = sqlite3.connect(scratch / "raw.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, project_id INTEGER, dataset_version_id INTEGER, "
        "path TEXT, row_index INTEGER, text TEXT, rank INTEGER, state TEXT, health TEXT, health_reason TEXT, "
        "size BIGINT, created_at TEXT, removed_version_id INTEGER, UNIQUE (project_id, path, row_index))"
    )
    generator = random.Random(1)
    data = [
        (
            1,
            1,
            f"d{index // FILES_PER_FOLDER:05d}/img{index:08d}.jpg",
            0,
            None,
            generator.getrandbits(31),
            "unlabeled",
            "ok",
            None,
            0,
            "2026-01-01 00:00:00.000000",
        )
        for index in range(rows)
    ]
    marks = ", ".join("?" for _ in COLUMNS)
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(f"INSERT INTO items ({', '.join(COLUMNS)}) VALUES ({marks})", data)  # noqa: S608
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return rows / elapsed


def raw_listing_files_per_s(root: Path) -> float:
    """`os.scandir` alone, telling files from folders by the entry's type as the local datastore does
    (no stat per file): the listing's physical limit."""
    started, count = time.perf_counter(), 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    count += 1
    return count / (time.perf_counter() - started)


def _files(scratch: Path, count: int) -> Path:
    """The folder of `count` files: made in the scratch folder, or kept in `TESSERA_BENCH_FILES` and used
    again by the next run of the same size (making 5,000,000 files takes minutes)."""
    kept = os.environ.get("TESSERA_BENCH_FILES")
    root = Path(kept) / f"files-{count}" if kept else scratch / "data" / "datastores" / "bench"
    marker = root / ".complete"
    if not marker.exists():
        make_files(root, count)
        marker.touch()
    return root


def _remove_new_files(root: Path, count: int) -> None:
    for index in range(count, count + NEW_FILES):
        (root / f"d{index // FILES_PER_FOLDER:05d}" / f"img{index:08d}.jpg").unlink(missing_ok=True)


def run(*, items: int | None, database: str | None, with_refresh: bool = True) -> dict[str, Any]:
    count = items or 1_000_000
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as scratch_name:
        scratch = Path(scratch_name)
        root = _files(scratch, count)
        settings = Settings(
            data_dir=scratch / "data", max_items_per_project=10_000_000, local_datastore_roots=[root.parent]
        )
        url = fresh_database(database, scratch)
        db = migrated(url)
        collector = _Collector()
        attach_runner(db, collector)
        project_id, dataset_id = _setup(db, settings, root)
        with db.write() as session:
            attach_dataset(
                session,
                project=get_project(session, project_id),
                dataset=get_dataset(session, dataset_id),
                max_items=settings.max_items_per_project,
                created_by_id=None,
            )
        with peak_rss() as peak:
            seconds = _run_job(db, settings, collector)
        figures: dict[str, Any] = {
            "items_per_s": round(count / seconds),
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak[0], 1),
        }
        refresh: dict[str, Any] = {}
        if with_refresh:
            make_files(root, NEW_FILES, start=count)
            with db.write() as session:
                start_refresh(
                    session,
                    project=get_project(session, project_id),
                    max_items=settings.max_items_per_project,
                    created_by_id=None,
                )
            with peak_rss() as refresh_peak:
                refresh_seconds = _run_job(db, settings, collector)
            _remove_new_files(root, count)
            refresh = {
                "seconds": round(refresh_seconds, 2),
                "new_items": NEW_FILES,
                "peak_rss_mb": round(refresh_peak[0], 1),
            }
        reference = {
            "raw_sqlite_rows_per_s": round(raw_sqlite_rows_per_s(count, scratch)),
            "raw_listing_files_per_s": round(raw_listing_files_per_s(root)),
        }
        db.dispose()
    return {
        "bench": "ingest",
        "params": {"items": count, "database": url.split(":", 1)[0], "media": "image (empty .jpg files)"},
        "figures": figures,
        "reference": reference,
        "refresh": refresh,
    }


def run_refresh(*, items: int | None, database: str | None) -> dict[str, Any]:
    result = run(items=items, database=database)
    return {
        "bench": "refresh",
        "params": {**result["params"], "new_files": NEW_FILES},
        "figures": result["refresh"],
        "reference": {"initialize_seconds": result["figures"]["seconds"]},
    }
