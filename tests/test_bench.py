"""The benchmarks still run, end to end, at a tiny size (their figures mean nothing here): a benchmark
that rotted would otherwise be found only when someone needs its numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_bench(name: str, *args: str, **env: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", name, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == name
    return result


def test_the_ingest_benchmark_runs() -> None:
    result = run_bench("ingest", "--items", "300")
    figures = result["figures"]
    assert isinstance(figures, dict) and figures["items_per_s"] > 0
    assert result["refresh"]["new_items"] == 1000  # type: ignore[index]


@pytest.mark.parametrize("chained", ["0", "1"])
def test_the_queue_benchmark_runs_without_double_assignments(chained: str) -> None:
    result = run_bench(
        "queue",
        "--items",
        "3000",  # the in-process reference alone labels 400
        TESSERA_BENCH_SECONDS="1",
        TESSERA_BENCH_LABELERS="2",
        TESSERA_BENCH_CHAINED=chained,
    )
    figures = result["figures"]
    assert isinstance(figures, dict)
    assert figures["double_assignments"] == 0 and figures["counters_match_rows"] is True
    assert figures["cycles_per_s"] > 0
