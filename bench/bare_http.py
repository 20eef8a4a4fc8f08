"""The floor of the HTTP stack on this machine: a FastAPI app whose one route reads the JSON body it is
sent and answers a constant, served by uvicorn in its own process with the options `tessera serve` uses
(uvloop, httptools, no access log). Cycles of two such requests, made by the benchmark's own clients,
cost what no claim + submit over FastAPI and uvicorn can undercut: no database, no sign-in, no work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
from fastapi import FastAPI
from fastapi.responses import Response

from bench.support import free_port

app = FastAPI()
_ANSWER = b'{"id": 1, "status": "open", "items": []}'


@app.post("/bare/{step}")
async def bare_step(step: str, body: dict[str, Any]) -> Response:
    return Response(_ANSWER, media_type="application/json")


@contextmanager
def bare_server() -> Iterator[tuple[str, psutil.Process]]:
    """This module's app under uvicorn in a process of its own; yields its base URL and process."""
    port = free_port()
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "uvicorn", "bench.bare_http:app", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.post(f"{base}/bare/start", json={}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the bare HTTP server did not start")
            time.sleep(0.1)
        yield base, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
