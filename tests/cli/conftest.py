"""What the command-line tests share: a runner whose `tessera` uses the test database and data folder
(calls that must succeed: tests/support/cli.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tessera.core.settings import Settings, get_settings
from tessera.db.session import Database


@pytest.fixture
def cli(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("TESSERA_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("TESSERA_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
