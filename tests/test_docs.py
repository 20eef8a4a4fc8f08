"""Docs that cannot rot: the settings and CLI references are generated and must match the code; the
README holds the two commands, and .ci/run runs the README's test command; every export format has its
section in docs/formats.md."""

from __future__ import annotations

from pathlib import Path

from tessera.cli.reference import cli_reference, settings_reference
from tessera.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
STALE = "is out of date: run `python -m tessera.cli.reference` and commit the result"


def test_the_settings_reference_is_current_and_documents_every_setting() -> None:
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_reference(), (
        f"docs/settings.md {STALE}"
    )
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"


def test_the_cli_reference_is_current_and_documents_every_command() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert text == cli_reference(), f"docs/cli.md {STALE}"
    for command in (
        "serve",
        "worker",
        "db upgrade",
        "user create",
        "user token",
        "project create",
        "project list",
        "project show",
        "job check",
        "job watch",
    ):
        assert f"## `tessera {command}`" in text


def test_every_cli_command_has_help() -> None:
    import typer.main

    from tessera.cli.main import app

    def walk(command, path):  # type: ignore[no-untyped-def]
        assert (command.help or "").strip(), f"`{path}` has no help text"
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "tessera")


def test_the_readme_holds_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./scripts/serve" in readme
    assert "./scripts/test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in ci


def test_every_export_format_is_documented_with_its_task_types() -> None:
    from tessera.formats.registry import EXPORT_FORMATS

    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    for name in EXPORT_FORMATS:
        assert f"\n### {name}\n" in text, f"docs/formats.md has no `### {name}` section"
        assert f"`{name}`" in text, f"docs/formats.md's table does not name `{name}`"


def test_every_job_kind_is_documented() -> None:
    from tessera.jobs.registry import registered_kinds
    from tessera.worker.stages import load_stages

    load_stages()
    documented = (ROOT / "docs" / "jobs.md").read_text(encoding="utf-8")
    shipped = [
        kind for kind in registered_kinds() if not kind.startswith("test.")
    ]  # tests/support/sample_jobs
    missing = [kind for kind in shipped if f"| `{kind}` |" not in documented]
    assert not missing, f"job kinds missing from docs/jobs.md's table: {missing}"
