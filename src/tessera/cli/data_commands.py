"""`tessera datastore`, `tessera dataset`, and bringing data into a project (`tessera project attach`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from tessera.cli.common import console, runtime, shows_errors
from tessera.cli.job_commands import finish_job, watch_job
from tessera.core.errors import Invalid
from tessera.db.session import Database
from tessera.ingest.models import Media
from tessera.ingest.service import (
    attach_dataset,
    create_dataset,
    create_datastore,
    get_dataset,
    get_datastore,
    get_project_data,
    list_datasets,
    list_datastores,
    start_refresh,
)
from tessera.projects.service import get_project

datastores = typer.Typer(help="Datastores: named connections to folders and buckets.", no_args_is_help=True)
datasets = typer.Typer(
    help="Datasets: a datastore plus the patterns of the files to label.", no_args_is_help=True
)


def _json_option(text: str, field: str) -> dict[str, str]:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError as error:
        raise Invalid(f"is not JSON: {error.msg}", field=field) from None
    if not isinstance(value, dict):
        raise Invalid("must be a JSON object", field=field)
    return value


@datastores.command("create")
@shows_errors
def create_datastore_command(
    name: str = typer.Argument(..., help="A name for the connection."),
    kind: str = typer.Option(..., help="local, s3, azure_blob or gcs."),
    config: str = typer.Option(..., help='Where, as JSON: {"root": "/data/photos"}, {"bucket": "b"}, …'),
    credentials_file: Path | None = typer.Option(None, help="A JSON file with the secrets (kept encrypted)."),
) -> None:
    """Create a datastore; the connection is tested first."""
    secrets = (
        _json_option(credentials_file.read_text(encoding="utf-8"), "credentials")
        if credentials_file
        else None
    )
    with runtime() as active, active.database.write() as session:
        row = create_datastore(
            session,
            settings=active.settings,
            name=name,
            kind=kind,
            config=_json_option(config, "config"),
            credentials=secrets,
            created_by_id=None,
        )
        console.print(f"created datastore {row.id}: {row.name} ({row.kind})", highlight=False)


@datastores.command("list")
@shows_errors
def list_datastores_command() -> None:
    """List the datastores (never their credentials)."""
    table = Table("id", "name", "kind", "config")
    with runtime() as active, active.database.read() as session:
        for row in list_datastores(session, limit=10_000):
            table.add_row(str(row.id), row.name, row.kind, json.dumps(row.config))
    console.print(table)


@datasets.command("create")
@shows_errors
def create_dataset_command(
    name: str = typer.Argument(..., help="A name for the dataset."),
    datastore: int = typer.Option(..., help="Datastore id."),
    pattern: list[str] = typer.Option(
        ["**"], "--pattern", "-p", help="A glob; repeat for more (`photos/**`)."
    ),
    media: Media = typer.Option(..., help="image or text."),
    text_column: str | None = typer.Option(None, help=".csv / .jsonl: the column with the text."),
) -> None:
    """Create a dataset."""
    with runtime() as active, active.database.write() as session:
        dataset = create_dataset(
            session,
            name=name,
            datastore=get_datastore(session, datastore),
            patterns=pattern,
            media=media,
            text_column=text_column,
            created_by_id=None,
        )
        console.print(f"created dataset {dataset.id}: {dataset.name}", highlight=False)


@datasets.command("list")
@shows_errors
def list_datasets_command() -> None:
    """List the datasets."""
    table = Table("id", "name", "datastore", "media", "patterns")
    with runtime() as active, active.database.read() as session:
        for dataset in list_datasets(session, limit=10_000):
            table.add_row(
                str(dataset.id),
                dataset.name,
                str(dataset.datastore_id),
                dataset.media.value,
                " ".join(dataset.patterns),
            )
    console.print(table)


def _follow(database: Database, job_id: int, project_id: int) -> None:
    """Show the job's progress, then what the project's data now says."""
    finish_job(watch_job(database, job_id))
    with database.read() as session:
        console.print(get_project_data(session, project_id).message, highlight=False)


@shows_errors
def attach_command(
    project_id: int = typer.Argument(..., help="Project id."),
    dataset: int = typer.Option(..., help="Dataset id."),
    watch_it: bool = typer.Option(True, "--watch/--no-watch", help="Show the loading's progress."),
) -> None:
    """Give a project its dataset and load its items (once; the dataset cannot change afterwards)."""
    with runtime() as active:
        with active.database.write() as session:
            job = attach_dataset(
                session,
                project=get_project(session, project_id),
                dataset=get_dataset(session, dataset),
                max_items=active.settings.max_items_per_project,
                created_by_id=None,
            )
        if watch_it:
            _follow(active.database, job.id, project_id)


@shows_errors
def refresh_command(
    project_id: int = typer.Argument(..., help="Project id."),
    watch_it: bool = typer.Option(True, "--watch/--no-watch", help="Show the refresh's progress."),
) -> None:
    """Add the files that appeared in the project's dataset since the last listing."""
    with runtime() as active:
        with active.database.write() as session:
            job = start_refresh(
                session,
                project=get_project(session, project_id),
                max_items=active.settings.max_items_per_project,
                created_by_id=None,
            )
        if watch_it:
            _follow(active.database, job.id, project_id)
