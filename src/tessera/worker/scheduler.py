"""The scheduler: a thread in `tessera serve` and `tessera worker` that wakes every few seconds to fail
jobs whose heartbeat stopped, hand waiting jobs to the runner again, start the refreshes that are due,
give back the items of labeling tasks whose lease ran out, and start ML assist's featurization and
training when due (ml/triggers.py). Every step is a guarded UPDATE (refreshes under a lease) or a job
created in one transaction, so any number of processes may run it."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.service import start_due_refreshes
from tessera.jobs.service import fail_stale_jobs, resubmit_waiting_jobs
from tessera.ml.triggers import start_due_ml_jobs
from tessera.queue.service import expire_leases

log = logging.getLogger(__name__)


def run_scheduler_once(database: Database, settings: Settings) -> dict[str, list[int]]:
    stale_after = timedelta(seconds=settings.job_stale_after_seconds)
    with database.write() as session:
        failed = fail_stale_jobs(session, stale_after=stale_after)
    with database.write() as session:
        resubmitted = resubmit_waiting_jobs(session, waiting_longer_than=stale_after)
    with database.write() as session:
        refreshing = start_due_refreshes(session, max_items=settings.max_items_per_project)
    with database.write() as session:
        expired = expire_leases(session)
    with database.write() as session:
        ml_jobs = start_due_ml_jobs(session)
    if failed:
        log.warning("marked %d jobs failed whose heartbeat stopped: %s", len(failed), failed)
    return {
        "failed": failed,
        "resubmitted": resubmitted,
        "refreshing": refreshing,
        "expired_tasks": expired,
        "ml_jobs": ml_jobs,
    }


class Scheduler:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tessera-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._settings.scheduler_interval_seconds):
            try:
                run_scheduler_once(self._database, self._settings)
            except Exception:
                log.exception("scheduler pass failed; trying again at the next one")
