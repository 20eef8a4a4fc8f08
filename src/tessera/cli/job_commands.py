"""`tessera job`: watch, list, cancel and retry background jobs."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tessera.cli.common import console, runtime, shows_errors
from tessera.db.session import Database
from tessera.jobs.models import Job, JobStatus
from tessera.jobs.service import cancel_job, create_job, get_job, list_jobs, retry_job
from tessera.jobs.system_check import SYSTEM_CHECK

app = typer.Typer(help="Background jobs.", no_args_is_help=True)
POLL_SECONDS = 0.25


def watch_job(database: Database, job_id: int) -> Job:
    """Show a job's progress as a bar until it finishes; return its final row."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(f"job {job_id}", total=None)
        while True:
            with database.read() as session:
                job = get_job(session, job_id)
            progress.update(
                bar,
                completed=job.progress_done,
                total=job.progress_total,
                description=f"job {job.id} {job.kind}: {job.message}",
            )
            if job.status.finished:
                return job
            time.sleep(POLL_SECONDS)


def finish_job(job: Job) -> None:
    """Print how the job ended; exit 1 unless it succeeded."""
    colour = "green" if job.status == JobStatus.succeeded else "red"
    console.print(f"job {job.id} [{colour}]{job.status.value}[/{colour}]", highlight=False)
    if job.error:
        console.print(job.error, highlight=False)
    if job.status != JobStatus.succeeded:
        raise typer.Exit(1)


@app.command("watch")
@shows_errors
def watch(job_id: int = typer.Argument(..., help="Job id.")) -> None:
    """Follow a job's progress until it ends (exit code 1 unless it succeeded)."""
    with runtime() as active:
        finish_job(watch_job(active.database, job_id))


@app.command("list")
@shows_errors
def list_command(
    project_id: int | None = typer.Option(None, help="Only this project's jobs."),
    limit: int = typer.Option(20, help="How many, newest first."),
) -> None:
    """List recent jobs."""
    table = Table("id", "kind", "project", "status", "progress", "message")
    with runtime() as active, active.database.read() as session:
        jobs = list_jobs(session, project_id=project_id, every_project=project_id is None, limit=limit)
        for job in jobs:
            total = f"/{job.progress_total}" if job.progress_total is not None else ""
            table.add_row(
                str(job.id),
                job.kind,
                str(job.project_id or ""),
                job.status.value,
                f"{job.progress_done}{total}",
                job.message,
            )
    console.print(table)


@app.command("cancel")
@shows_errors
def cancel(job_id: int = typer.Argument(..., help="Job id.")) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    with runtime() as active, active.database.write() as session:
        job = cancel_job(session, get_job(session, job_id))
        console.print(f"job {job.id}: {job.status.value} ({job.message})", highlight=False)


@app.command("retry")
@shows_errors
def retry(
    job_id: int = typer.Argument(..., help="Job id."),
    watch_it: bool = typer.Option(True, "--watch/--no-watch", help="Follow its progress."),
) -> None:
    """Queue a failed or cancelled job again."""
    with runtime() as active:
        with active.database.write() as session:
            retry_job(session, get_job(session, job_id))
        if watch_it:
            finish_job(watch_job(active.database, job_id))


@app.command("check")
@shows_errors
def check(
    steps: int = typer.Option(20, min=1, max=10_000, help="Steps the check job counts through."),
    step_seconds: float = typer.Option(0.05, min=0, help="Pause per step."),
) -> None:
    """Run a system.check job through the configured runner and show its progress: with
    TESSERA_REDIS_URL set this proves a `tessera worker` is picking jobs up."""
    with runtime() as active:
        with active.database.write() as session:
            job = create_job(
                session, kind=SYSTEM_CHECK, params={"steps": steps, "step_seconds": step_seconds}
            )
        console.print(f"started job {job.id} on the {active.runner.name} runner", highlight=False)
        finish_job(watch_job(active.database, job.id))
