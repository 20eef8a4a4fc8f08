"""`tessera db`: migrations."""

from __future__ import annotations

import typer

from tessera.cli.common import console, settings
from tessera.db.migrate import current_revision, head_revision, upgrade_database
from tessera.worker.runtime import open_database

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Revision to upgrade to.")) -> None:
    """Create or upgrade the database tables (Alembic) to the latest revision."""
    database = open_database(settings())
    try:
        upgrade_database(database.engine, revision)
        console.print(f"database at revision {current_revision(database.engine)}")
    finally:
        database.dispose()


@app.command("current")
def current() -> None:
    """Print the database's revision and the newest one this version of Tessera knows."""
    database = open_database(settings())
    try:
        console.print(f"current: {current_revision(database.engine)}  head: {head_revision()}")
    finally:
        database.dispose()
