"""What every command shares: settings, the database, a console, errors shown as one red line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from tessera.core.errors import TesseraError
from tessera.core.settings import Settings, get_settings
from tessera.worker.runtime import Runtime, open_database

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def shows_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Domain errors end the command with their message and exit code 1, not a traceback."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except TesseraError as error:
            err_console.print(f"[red]error:[/red] {error.message}", highlight=False)
            raise typer.Exit(1) from error

    return run


@contextmanager
def runtime(*, scheduler: bool = False) -> Iterator[Runtime]:
    """The database (migrated or not: commands that need tables say so) and a job runner."""
    settings = get_settings()
    active = Runtime.start(settings, database=open_database(settings), scheduler=scheduler)
    try:
        yield active
    finally:
        active.stop()
        active.database.dispose()


def settings() -> Settings:
    return get_settings()
