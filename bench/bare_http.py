"""The floor of the HTTP stack on this machine: a FastAPI app whose one route reads the JSON body it is
sent and answers a constant, served by uvicorn in its own process with the options `tessera serve` uses
(uvloop, httptools, no access log). Cycles of two such requests, made by the benchmark's own clients,
cost what no claim + submit over FastAPI and uvicorn can undercut: no database, no sign-in, no work."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
from fastapi import FastAPI
from fastapi.responses import Response

from bench.support import free_port, serving

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
    command += ["--log-level", "warning", "--no-access-log"]
    with serving(command, env, port, lambda base: httpx.post(f"{base}/bare/start", json={}, timeout=2)) as up:
        yield up
