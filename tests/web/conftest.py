"""Browser tests: Debian's Chromium driven by Playwright (the Python package; never `playwright install`),
headless, against a real `uvicorn` serving the app on a free loopback port. One database kind (SQLite):
the pages call the same API the other tests check on both. Each test's last page is saved as a
screenshot under test-artifacts/screenshots/, to look at."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tessera.api.app import create_app
from tessera.core.settings import Settings
from tessera.worker.runtime import Runtime
from tests.support.services import require_service
from tests.support.web import save_screenshot

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('web') / 'tessera.db'}"


def chromium_path() -> str | None:
    found = os.environ.get("TESSERA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    require_service("Chromium", None if path else "no chromium (./scripts/test installs Debian's package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(runtime: Runtime, settings: Settings) -> Iterator[str]:
    """The app on a real HTTP server in a thread, over the test database; its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, runtime=runtime), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    save_screenshot(opened, request.node.name)
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
