"""`tessera user`: accounts and API tokens."""

from __future__ import annotations

import typer

from tessera.accounts.models import WorkspaceRole
from tessera.accounts.service import create_api_token, create_user, get_user_by_username
from tessera.cli.common import console, runtime, shows_errors

app = typer.Typer(help="User accounts and API tokens.", no_args_is_help=True)


@app.command("create")
@shows_errors
def create(
    username: str = typer.Argument(..., help="Login name: a-z, 0-9, '.', '_', '-'."),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="TESSERA_NEW_USER_PASSWORD",
        help="Password (prompted for when not given; at least 8 characters).",
    ),
    role: WorkspaceRole = typer.Option(
        WorkspaceRole.member, help="Workspace role: admin, creator or member."
    ),
    display_name: str = typer.Option("", help="Name shown to others (default: the username)."),
    email: str = typer.Option("", help="E-mail address (optional)."),
) -> None:
    """Create a user."""
    with runtime() as active, active.database.write() as session:
        user = create_user(
            session,
            username=username,
            password=password,
            display_name=display_name or None,
            email=email or None,
            workspace_role=role,
        )
        console.print(f"created user {user.username} (id {user.id}, {user.workspace_role.value})")


@app.command("token")
@shows_errors
def token(
    username: str = typer.Argument(..., help="Whose token."),
    name: str = typer.Option("cli", help="A name to recognise the token by."),
) -> None:
    """Create a personal API token and print it (once: Tessera keeps only its digest)."""
    with runtime() as active, active.database.write() as session:
        user = get_user_by_username(session, username)
        _token, secret = create_api_token(session, user=user, name=name)
    typer.echo(secret)
