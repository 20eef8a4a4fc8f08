"""Generate docs/cli.md and docs/settings.md from the code: `python -m tessera.cli.reference [--check]`.

The tests run the check, so a command or setting without documentation fails the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer.main

from tessera.cli.main import app
from tessera.core.settings import Settings

CLI_HEADER = "# CLI reference\n\nGenerated from the code by `python -m tessera.cli.reference`; do not edit.\n"
SETTINGS_HEADER = (
    "# Settings\n\nGenerated from `tessera.core.settings.Settings` by `python -m tessera.cli.reference`; "
    "do not edit.\nEach is read from the environment variable shown (prefix `TESSERA_`). Lists are JSON, "
    "e.g. `TESSERA_JOB_MODULES='[\"my_plugin.jobs\"]'`.\n"
)


def _command_lines(command: Any, path: str) -> list[str]:
    lines = [f"\n## `{path}`\n", (command.help or "").strip() + "\n"]
    params = [param for param in command.params if param.name != "help"]
    if params:
        lines.append("| argument / option | default | help |\n|---|---|---|")
        for param in params:
            names = ", ".join(f"`{name}`" for name in (*param.opts, *param.secondary_opts))
            help_text = getattr(param, "help", None) or ""
            default = param.default if not callable(param.default) and param.default not in (None, ()) else ""
            lines.append(f"| {names} | {default!s} | {help_text} |".replace("\n", " "))
    subcommands: dict[str, Any] = getattr(command, "commands", {})  # a group (typer ships its own click)
    for name in sorted(subcommands):
        lines.extend(_command_lines(subcommands[name], f"{path} {name}"))
    return lines


def cli_reference() -> str:
    root = typer.main.get_command(app)
    return CLI_HEADER + "\n".join(_command_lines(root, "tessera")) + "\n"


def settings_reference() -> str:
    lines = [SETTINGS_HEADER, "| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        shown = "(unset)" if default is None else f"`{default}`"
        lines.append(f"| `TESSERA_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"


REFERENCES = {"cli.md": cli_reference, "settings.md": settings_reference}


def main(argv: list[str]) -> int:
    docs = Path(argv[argv.index("--docs") + 1]) if "--docs" in argv else Path("docs")
    stale = []
    for file_name, render in REFERENCES.items():
        path = docs / file_name
        text = render()
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python -m tessera.cli.reference", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
