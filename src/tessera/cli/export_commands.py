"""`tessera export`: a project's labels to a file, through the same export job as the API, with a progress
bar; the file is copied to `--out` (a temporary name, then renamed) when the job is done."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer

from tessera.cli.common import console, runtime, shows_errors
from tessera.cli.job_commands import finish_job, watch_job
from tessera.core.errors import Invalid
from tessera.core.files import replaced_atomically
from tessera.formats.registry import export_formats_for
from tessera.formats.service import export_file, get_export, start_export
from tessera.projects.models import TaskType
from tessera.projects.service import get_project


@shows_errors
def export_command(
    project_id: int = typer.Argument(..., help="Project id."),
    format_name: str | None = typer.Option(
        None, "--format", "-f", help="Export format (see --list-formats)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Where to copy the file; default: here."),
    items: str = typer.Option("final", help="final: items with a label that counts; all: every item."),
    consensus_only: bool = typer.Option(False, help="Only labels the labelers agreed on."),
    include_prelabels: bool = typer.Option(False, help="Add each item's pre-filled label."),
    validation_share: float = typer.Option(0.0, help="Share of items in a `validation` split (0: none)."),
    seed: int = typer.Option(0, help="Seed of the split: the same seed gives the same split."),
    list_formats: bool = typer.Option(False, "--list-formats", help="List the project's formats and stop."),
) -> None:
    """Export a project's labels (COCO, CSV, CoNLL, MLTable, Parquet, …: docs/formats.md)."""
    options = {
        "items": items, "consensus_only": consensus_only, "include_prelabels": include_prelabels,
        "validation_share": validation_share, "seed": seed,
    }  # fmt: skip
    with runtime() as active:
        with active.database.write() as session:
            project = get_project(session, project_id)
            if list_formats:
                for fmt in export_formats_for(TaskType(project.task_type)):
                    console.print(f"{fmt.name:14} {fmt.summary}", highlight=False)
                return
            if format_name is None:
                raise Invalid("give --format (or --list-formats to see them)", field="format")
            export = start_export(
                session, project=project, format_name=format_name, options=options, created_by_id=None
            )
            export_id, job_id = export.id, export.job_id
        if job_id is None:
            raise Invalid("the export has no job")
        finish_job(watch_job(active.database, job_id))
        with active.database.read() as session:
            export = get_export(session, export_id)
            source = export_file(active.settings, export)
            summary = {"export": export.id, "items": export.items, "bytes": export.size_bytes}
    target = out if out is not None else Path.cwd() / source.name
    if target.is_dir():
        target = target / source.name
    with replaced_atomically(target) as handle, source.open("rb") as copied:
        shutil.copyfileobj(copied, handle)
    typer.echo(json.dumps({**summary, "file": str(target)}))
