"""The `tessera` command (Typer): serve, worker, db, user, project, job."""
