"""Jobs of the in-process runner that run in a child process (kinds registered with `own_process`): the
runner's thread starts `python -m tessera.worker.child_process JOB_ID`, hands it the settings on stdin,
and waits. The child claims and runs the job like any runner (status, progress, heartbeat, cancel all go
through the database), so the server's interpreter lock is never held by the job's Python code while
labelers' requests wait. The child inherits the runner thread's lowered CPU priority. Jobs the child's job
creates (a training queues its inference) are handed back on its stdout, `tessera-submit ID` lines, to the
parent's runner. A shutdown sends the child SIGTERM: the job stops at its next progress report and is
queued again; a child that dies without recording an end fails its job with the exit code."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from pydantic import SecretStr

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.execution import execute_job, fail_unfinished
from tessera.jobs.runner import attach_runner

log = logging.getLogger(__name__)
STOP_GRACE_S = 30.0  # how long a stopped child may take to put its job back before it is killed
SUBMIT = "tessera-submit "  # the line prefix on the child's stdout that hands a new job to the parent


class HandBack:
    """The child's runner: a job created in the child goes to the parent's runner through stdout."""

    name = "child process"

    def submit(self, job_id: int) -> None:
        print(f"{SUBMIT}{job_id}", flush=True)

    def close(self) -> None:
        pass


def settings_payload(settings: Settings, database_url: str | None = None) -> str:
    """The settings as JSON the child rebuilds them from, secrets included (they go through a pipe);
    `database_url`: the database the parent really uses, when it was opened from another URL than the
    settings name (tests, embedding applications)."""
    values: dict[str, Any] = settings.model_dump(mode="json")
    for name, value in settings:
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    if database_url is not None:
        values["database_url"] = database_url
    return json.dumps(values)


def run_in_child(
    settings: Settings,
    database: Database,
    job_id: int,
    stopping: threading.Event,
    submit: Callable[[int], None],
) -> None:
    """Run the job in a child process and wait for it (the caller is a runner thread); `submit` takes
    the jobs the child's job creates."""
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module, a job id)
        [sys.executable, "-m", "tessera.worker.child_process", str(job_id)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    with process.stdin:
        url = database.engine.url.render_as_string(hide_password=False)
        process.stdin.write(settings_payload(settings, url))
    reader = threading.Thread(target=_hand_over, args=(process.stdout, submit), daemon=True)
    reader.start()
    while process.poll() is None:
        if stopping.wait(0.2):
            process.terminate()
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    reader.join()
    if process.returncode != 0:
        fail_unfinished(database, job_id, f"the job's process ended with exit code {process.returncode}")


def _hand_over(lines: IO[str], submit: Callable[[int], None]) -> None:
    """Pass on the child's `tessera-submit ID` lines; echo anything else it printed to our stdout."""
    with lines:
        for line in lines:
            if line.startswith(SUBMIT):
                try:
                    submit(int(line[len(SUBMIT) :]))
                except RuntimeError:  # the runner is shutting down: the scheduler hands the job over later
                    log.warning("job %s stays queued: the runner is closing", line[len(SUBMIT) :].strip())
            else:
                sys.stdout.write(line)


def main() -> int:
    from tessera.worker.runtime import open_database

    job_id = int(sys.argv[1])
    settings = Settings(**json.loads(sys.stdin.read()))
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    database = open_database(settings)
    attach_runner(database, HandBack())
    try:
        worker = f"{socket.gethostname()}:{os.getpid()}:child"
        execute_job(database, job_id, worker=worker, settings=settings, stopping=stopping)
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
