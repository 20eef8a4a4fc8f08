"""Running `tessera` in-process in the command-line tests."""

from __future__ import annotations

from typer.testing import CliRunner

from tessera.cli.main import app


def run_ok(cli: CliRunner, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run `tessera ARGS…`; it must exit 0. Its output."""
    result = cli.invoke(app, list(args), input=input, env=env)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output
