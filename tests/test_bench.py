"""The benchmarks still run, end to end, at a tiny size (their figures mean nothing here): a benchmark
that rotted would otherwise be found only when someone needs its numbers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support.services import require_service

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
        TESSERA_BENCH_PACED="2",
        TESSERA_BENCH_THINK_S="0.05",
    )
    figures = result["figures"]
    assert isinstance(figures, dict)
    assert figures["double_assignments"] == 0 and figures["counters_match_rows"] is True
    assert figures["cycles_per_s"] > 0
    (paced,) = figures["paced_runs"]
    assert paced["labelers"] == 2 and paced["think_s"] == 0.05 and paced["cycles"] > 0
    reference = result["reference"]
    assert isinstance(reference, dict)
    assert (
        reference["empty_cycle_labelers"] == 2 and reference["empty_cycles_per_s"] > figures["cycles_per_s"]
    )
    assert reference["bare_http_cycle_labelers"] == 2
    assert reference["bare_http_cycles_per_s"] > reference["empty_cycles_per_s"]


def test_the_web_benchmark_runs_without_full_resolution_requests(tmp_path: Path) -> None:
    chromium = os.environ.get("TESSERA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    require_service(
        "Chromium", None if Path(chromium).exists() else "no chromium (./scripts/test installs it)"
    )
    for number, color in enumerate([(200, 40, 40), (40, 160, 60), (30, 60, 200)]):
        Image.new("RGB", (320, 240), color).save(tmp_path / f"photo{number}.jpg")
    result = run_bench(
        "web",
        TESSERA_BENCH_PAGES="2",
        TESSERA_BENCH_PHOTO_SIZE="800x600",
        TESSERA_BENCH_PHOTOS=str(tmp_path),  # the darknet photos are not needed to see that it runs
        TESSERA_BENCH_THINK_MS="50",
    )
    figures = result["figures"]
    assert isinstance(figures, dict)
    assert figures["full_resolution_requests"] == 0
    assert figures["thumbnail_requests_per_page_max"] == 9
    assert figures["next_page_p50_ms"] > 0 and figures["page_kb_max"] > 0
    reference = result["reference"]
    assert isinstance(reference, dict)
    assert {"floor_next_page_p50_ms", "full_resolution_page_kb"} <= set(reference)


def test_the_export_benchmark_runs_every_format_it_is_given() -> None:
    result = run_bench("export", "--items", "500", TESSERA_BENCH_FORMATS="csv,coco")
    figures = result["figures"]
    assert isinstance(figures, dict) and set(figures) == {"csv", "coco"}
    assert all(entry["items"] == 500 and entry["file_mb"] >= 0 for entry in figures.values())


def test_the_ml_benchmarks_run() -> None:
    simulated = run_bench(
        "ml-sim", "--items", "40", TESSERA_BENCH_DATASET="bbc-news", TESSERA_BENCH_TEST_ITEMS="20"
    )
    figures = simulated["figures"]
    assert isinstance(figures, dict) and set(figures["runs"]) == {"active_learning", "no_active_learning"}
    assert figures["target_precision"] == 0.95 and figures["actions_saved_share"] is not None
    featurized = run_bench("featurize", "--items", "40", TESSERA_BENCH_BASELINE_S="1")
    assert featurized["figures"]["embedded"] == 40  # type: ignore[index]
    assert featurized["reference"]["raw_backbone_images_per_s"] > 0  # type: ignore[index]
