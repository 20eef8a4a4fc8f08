"""The `tessera` command."""

from __future__ import annotations

import typer

from tessera.cli import (
    data_commands,
    db_commands,
    export_commands,
    job_commands,
    project_commands,
    serve_commands,
    upload_commands,
    user_commands,
    version_commands,
)

app = typer.Typer(
    name="tessera",
    help="Tessera: open-source data labeling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve_commands.serve)
app.command("worker")(serve_commands.worker)
app.add_typer(db_commands.app, name="db")
app.add_typer(user_commands.app, name="user")
project_commands.app.command("attach")(data_commands.attach_command)
project_commands.app.command("refresh")(data_commands.refresh_command)
project_commands.app.command("versions")(version_commands.versions_command)
project_commands.app.command("remove-data")(version_commands.remove_data_command)
app.add_typer(project_commands.app, name="project")
app.add_typer(data_commands.datastores, name="datastore")
data_commands.datasets.command("upload")(upload_commands.upload_command)
app.add_typer(data_commands.datasets, name="dataset")
app.add_typer(job_commands.app, name="job")
app.command("export")(export_commands.export_command)

if __name__ == "__main__":
    app()
