"""Build what a process needs to run Tessera: the database, its runner and the scheduler."""

from __future__ import annotations

from dataclasses import dataclass

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.runner import JobRunner, attach_runner
from tessera.worker.rq_queue import RQRunner
from tessera.worker.scheduler import Scheduler
from tessera.worker.stages import load_stages
from tessera.worker.thread_pool import ThreadPoolRunner


def open_database(settings: Settings) -> Database:
    load_stages(settings.job_modules)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database.from_url(
        settings.resolved_database_url(),
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.database_pool_size,
        sqlite_cache_mb=settings.sqlite_cache_mb,
    )


def build_runner(settings: Settings, database: Database) -> JobRunner:
    """RQ when a Redis URL is set, else the in-process pool."""
    if settings.redis_url:
        return RQRunner(settings.redis_url, settings.rq_queue)
    return ThreadPoolRunner(database, settings)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    runner: JobRunner
    scheduler: Scheduler

    @classmethod
    def start(
        cls, settings: Settings, *, database: Database | None = None, scheduler: bool = True
    ) -> Runtime:
        database = database or open_database(settings)
        runner = build_runner(settings, database)
        attach_runner(database, runner)
        runtime = cls(settings, database, runner, Scheduler(database, settings))
        if scheduler:
            runtime.scheduler.start()
        return runtime

    def stop(self) -> None:
        self.scheduler.stop()
        self.runner.close()
        attach_runner(self.database, None)
