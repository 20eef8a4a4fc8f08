"""What benchmarks share: scratch databases, a real server process, percentiles, RSS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tessera.db.migrate import upgrade_database
from tessera.db.session import Database
from tessera.worker.stages import load_stages

ROOT = Path(__file__).resolve().parents[1]


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def fresh_database(url: str | None, scratch: Path) -> str:
    """A new, empty database: SQLite in `scratch`, or a PostgreSQL database named tessera_bench*."""
    if url is None or url.startswith("sqlite"):
        return f"sqlite:///{scratch / 'bench.db'}"
    parsed = make_url(url)
    name = parsed.database or ""
    if not name.startswith("tessera_bench"):
        raise SystemExit(f"refusing to recreate {name!r}: name the benchmark database tessera_bench…")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def migrated(url: str) -> Database:
    load_stages()
    database = Database.from_url(url)
    upgrade_database(database.engine)
    return database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(
    database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, psutil.Process]]:
    """`tessera serve` as a real process (with `extra_env` settings); yields its base URL and process."""
    port = free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_DATA_DIR": str(data_dir),
        "TESSERA_PORT": str(port),
        "TESSERA_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "tessera.cli.main", "serve", "--no-migrate"]
    with serving(command, env, port, lambda base: httpx.get(f"{base}/api/health", timeout=2)) as started:
        yield started


@contextmanager
def serving(
    command: list[str], env: dict[str, str], port: int, probe: Callable[[str], httpx.Response]
) -> Iterator[tuple[str, psutil.Process]]:
    """A server process on `port`, once `probe(base URL)` answers 200 (60 s at most); yields its base URL
    and process, and stops it afterwards."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if probe(base).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the server did not start: {' '.join(command)}")
            time.sleep(0.1)
        yield base, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)


def timed_calls(client: httpx.Client, path: str, calls: int) -> list[float]:
    """Milliseconds per call, client side, one after another."""
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20
