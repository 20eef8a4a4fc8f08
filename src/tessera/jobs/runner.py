"""The runner protocol. Entry points (worker/) build a runner and attach it to the Database; services
create jobs and the runner is handed each job id once the creating transaction has committed."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from tessera.db.session import Database

RUNNER_KEY = "tessera_job_runner"


class JobRunner(Protocol):
    name: str

    def submit(self, job_id: int) -> None:
        """Arrange for the job to run (soon, somewhere). May be called more than once for one job."""

    def close(self) -> None:
        """Stop taking jobs; wait for those running in this process, if any."""


def attach_runner(database: Database, runner: JobRunner | None) -> None:
    if runner is None:
        database.info.pop(RUNNER_KEY, None)
    else:
        database.info[RUNNER_KEY] = runner


def runner_for(session: Session) -> JobRunner:
    runner = session.info.get(RUNNER_KEY)
    if runner is None:
        raise RuntimeError("no job runner is attached to this database (tessera.jobs.runner.attach_runner)")
    return runner  # type: ignore[no-any-return]
