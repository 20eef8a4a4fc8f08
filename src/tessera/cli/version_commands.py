"""`tessera project versions` and `tessera project remove-data`: a project's dataset versions."""

from __future__ import annotations

import typer
from rich.table import Table

from tessera.cli.common import console, runtime, shows_errors
from tessera.ingest.versions import list_versions, remove_data
from tessera.projects.service import get_project


@shows_errors
def versions_command(project_id: int = typer.Argument(..., help="Project id.")) -> None:
    """List the project's dataset versions: what each load added and each removal took out."""
    with runtime() as active, active.database.read() as session:
        project = get_project(session, project_id)
        table = Table("version", "reason", "added", "removed", "when")
        after = 0
        while rows := list_versions(session, project.id, after_id=after, limit=500):
            for version in rows:
                table.add_row(
                    str(version.number),
                    version.reason,
                    f"{version.files_added:,}",
                    f"{version.files_removed:,}",
                    f"{version.created_at:%Y-%m-%d %H:%M} UTC",
                )
            after = rows[-1].id
    console.print(table)


@shows_errors
def remove_data_command(
    project_id: int = typer.Argument(..., help="Project id."),
    path: list[str] = typer.Option([], "--path", help="A file to take out (repeat the option for more)."),
    pattern: list[str] = typer.Option(
        [], "--pattern", help="A glob pattern of files to take out, e.g. 'old/**' (repeatable)."
    ),
) -> None:
    """Take files out of the project as a new dataset version; a refresh never adds them again."""
    with runtime() as active, active.database.write() as session:
        version = remove_data(session, project=get_project(session, project_id), paths=path, patterns=pattern)
        number, removed = version.number, version.files_removed
    console.print(f"version {number}: {removed:,} items removed", highlight=False)
