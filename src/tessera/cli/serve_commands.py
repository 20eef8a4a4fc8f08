"""`tessera serve` and `tessera worker`."""

from __future__ import annotations

import secrets
from pathlib import Path

import typer
import uvicorn

from tessera.accounts.models import WorkspaceRole
from tessera.accounts.service import any_user_exists, create_user
from tessera.api.app import create_app
from tessera.cli.common import console, settings
from tessera.core.files import write_bytes_atomically
from tessera.core.settings import Settings
from tessera.db.migrate import upgrade_database
from tessera.db.session import Database
from tessera.jobs.runner import attach_runner
from tessera.worker.rq_queue import RQRunner, serve_queue
from tessera.worker.runtime import Runtime, open_database
from tessera.worker.scheduler import Scheduler

FIRST_ADMIN = "admin"
FIRST_ADMIN_PASSWORD_FILE = "initial-admin-password"  # noqa: S105 (a file name)


def create_first_admin(database: Database, data_dir: Path) -> str | None:
    """With no users at all, create `admin` with a random password, kept in a file only its owner reads.
    Returns the password, or None when users exist."""
    with database.write() as session:
        if any_user_exists(session):
            return None
        password = secrets.token_urlsafe(12)
        create_user(
            session,
            username=FIRST_ADMIN,
            password=password,
            display_name="Administrator",
            workspace_role=WorkspaceRole.admin,
        )
    path = data_dir / FIRST_ADMIN_PASSWORD_FILE
    write_bytes_atomically(path, f"{password}\n".encode(), mode=0o600)
    return password


def _announce(current: Settings, password: str | None) -> None:
    url = current.resolved_public_url()
    password_file = current.data_dir.resolve() / FIRST_ADMIN_PASSWORD_FILE
    lines = [f"Tessera is running at {url}  (API docs: {url}/docs)"]
    if password is not None:
        lines += [
            f"First admin created. Sign in at {url}/sign-in with",
            f"  username: {FIRST_ADMIN}",
            f"  password: {password}",
            f"(the password is also in {password_file}; change it once signed in)",
        ]
    elif password_file.exists():
        lines.append(f"Sign in at {url}/sign-in; the first admin's password is in {password_file}")
    else:
        lines.append(f"Sign in at {url}/sign-in")
    console.print("\n" + "\n".join(lines), highlight=False, soft_wrap=True, markup=False)


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default: TESSERA_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: TESSERA_PORT)."),
    migrate: bool = typer.Option(
        True,
        "--migrate/--no-migrate",
        help="Upgrade the database first. Use --no-migrate on replicas after one `tessera db upgrade`.",
    ),
) -> None:
    """Start the web server (API, pages, in-process jobs and the scheduler)."""
    current = settings()
    updates = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    current = current.model_copy(update=updates)
    database = open_database(current)
    if migrate:
        upgrade_database(database.engine)
    password = create_first_admin(database, current.data_dir)
    active = Runtime.start(current, database=database)
    _announce(current, password)
    try:
        uvicorn.run(
            create_app(current, runtime=active),
            host=current.host,
            port=current.port,
            log_level=current.log_level,
            access_log=False,
        )
    finally:
        active.stop()
        database.dispose()


def worker(burst: bool = typer.Option(False, help="Exit once the queue is empty.")) -> None:
    """Run jobs from the Redis queue (needs TESSERA_REDIS_URL). Start as many as you like, anywhere."""
    current = settings()
    if not current.redis_url:
        console.print("[red]error:[/red] tessera worker needs TESSERA_REDIS_URL (redis://host:6379/0)")
        raise typer.Exit(1)
    database = open_database(current)
    attach_runner(database, RQRunner(current.redis_url, current.rq_queue))  # for jobs that queue jobs
    scheduler = Scheduler(database, current)
    if not burst:
        scheduler.start()
    try:
        serve_queue(current, database, burst=burst)
    finally:
        scheduler.stop()
        database.dispose()
