"""`tessera project`: create, list and show projects."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from tessera.accounts.service import get_user_by_username
from tessera.cli.common import console, runtime, shows_errors
from tessera.projects.models import Project, TaskType
from tessera.projects.service import create_project, get_project, list_projects

app = typer.Typer(help="Labeling projects.", no_args_is_help=True)


def _project_dict(project: Project) -> dict[str, object]:
    return {
        "id": project.id,
        "name": project.name,
        "task_type": project.task_type.value,
        "status": project.status.value,
        "label_classes": [label.name for label in project.label_classes],
        "instructions_url": project.instructions_url,
        "created_at": project.created_at.isoformat(),
    }


@app.command("create")
@shows_errors
def create(
    name: str = typer.Option(..., help="Project name (unique forever)."),
    task_type: TaskType = typer.Option(..., help="One of the eight task types."),
    label: list[str] = typer.Option(..., "--label", "-l", help="A label class; repeat for each, in order."),
    owner: str = typer.Option(..., help="Username of the owner (a workspace admin or creator)."),
    instructions_file: Path | None = typer.Option(None, help="Markdown file with the labeling instructions."),
    instructions_url: str | None = typer.Option(None, help="Or: a URL of the instructions."),
) -> None:
    """Create a project."""
    markdown = instructions_file.read_text(encoding="utf-8") if instructions_file else None
    with runtime() as active, active.database.write() as session:
        creator = get_user_by_username(session, owner)
        project = create_project(
            session,
            creator=creator,
            name=name,
            task_type=task_type,
            label_classes=label,
            instructions_markdown=markdown,
            instructions_url=instructions_url,
        )
        console.print(f"created project {project.id}: {project.name}", highlight=False)


@app.command("list")
@shows_errors
def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """List the live projects."""
    table = Table("id", "name", "task type", "status", "classes")
    with runtime() as active, active.database.read() as session:
        after_id = 0
        while projects := list_projects(session, member_id=None, after_id=after_id, limit=500):
            for project in projects:
                if as_json:
                    typer.echo(json.dumps(_project_dict(project)))
                else:
                    table.add_row(
                        str(project.id),
                        project.name,
                        project.task_type.value,
                        project.status.value,
                        str(len(project.label_classes)),
                    )
            after_id = projects[-1].id
    if not as_json:
        console.print(table)


@app.command("show")
@shows_errors
def show(project_id: int = typer.Argument(..., help="Project id.")) -> None:
    """Show one project as JSON."""
    with runtime() as active, active.database.read() as session:
        typer.echo(json.dumps(_project_dict(get_project(session, project_id)), indent=2))
