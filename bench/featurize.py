"""`featurize`: the image featurization job against the raw backbone, and the labeling requests beside it.

N Fashion-MNIST images (PNG files in a local datastore) are embedded twice by the real `ml.featurize` job
in a real `tessera serve`, in two projects over the same folder. First alone: the job's images/s (reading,
decoding in Pillow's draft mode, embedding) against the raw backbone. Then while one labeler claims and
submits tasks of a third project as fast as it can (no think time): next-task latency p50/p99 before and
during featurization, and the job's images/s under that load (the job runs at a lower CPU priority, so it
yields to the labeler). Reference: the raw ONNX Runtime throughput of the same backbone and thread count on
ready tensors (batch 32), measured in this process before the server starts."""

from __future__ import annotations

import csv
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.ml_data import fashion_mnist
from bench.ml_support import Crew, crew, make_project, ok, wait_job
from bench.support import percentile
from tessera.ml.backbones import MobileNetV2

BASELINE_S = float(os.environ.get("TESSERA_BENCH_BASELINE_S", "8"))


def raw_backbone(models_dir: Path, threads: int, images: int, batch: int) -> float:
    backbone = MobileNetV2(models_dir, device="auto", threads=threads)
    tensors = np.random.default_rng(0).normal(size=(batch, 3, 224, 224)).astype(np.float32)
    backbone.embed(tensors)  # warm up: session, memory arenas
    done, started = 0, time.perf_counter()
    while done < images:
        backbone.embed(tensors)
        done += batch
    return done / (time.perf_counter() - started)


def _labeling_load(
    team: Crew, project_id: int, stop: threading.Event, samples: list[tuple[float, float]]
) -> None:
    """Claim and submit one text item at a time until told to stop: (time, next-task ms) samples."""
    while not stop.is_set():
        began = time.perf_counter()
        response = team.labeler.post(f"/api/projects/{project_id}/tasks/next", json={})
        samples.append((began, (time.perf_counter() - began) * 1000))
        if response.status_code == 204:
            return
        task = ok(response)
        labels = [{"item_id": item["id"], "label": {"classes": ["a"]}} for item in task["items"]]
        ok(team.labeler.post(f"/api/tasks/{task['id']}/submit", json={"labels": labels}))


def run(*, items: int | None, database: str | None) -> dict[str, Any]:
    count = items or 2000
    threads = int(os.environ.get("TESSERA_ML_THREADS", "0")) or max(1, (os.cpu_count() or 2) - 1)
    batch = 32
    with tempfile.TemporaryDirectory(prefix="tessera-bench-featurize-") as scratch_name:
        scratch = Path(scratch_name)
        images = scratch / "data" / "datastores" / "images"
        fashion_mnist(images, count, test_items=0)
        texts = scratch / "data" / "datastores" / "texts"
        texts.mkdir(parents=True)
        with (texts / "rows.csv").open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["text"])
            writer.writerows([f"row {i}"] for i in range(50_000))
        raw = raw_backbone(scratch / "raw-models", threads, max(256, count // 4), batch)
        env = {"TESSERA_ML_THREADS": str(threads), "TESSERA_ML_BATCH_SIZE": str(batch),
               "TESSERA_SCHEDULER_INTERVAL_SECONDS": "3600"}  # fmt: skip
        with crew(scratch, database, env) as team:
            load_project = make_project(
                team, "load", "text_classification_multiclass", ["a", "b"], texts, "text", 1
            )
            ok(team.admin.patch(f"/api/projects/{load_project}/ml/settings", json={"enabled": False}))
            alone = make_project(
                team, "images alone", "image_classification_multiclass", ["x", "y"], images, "image", 9
            )
            alone_job = wait_job(
                team.admin, ok(team.admin.post(f"/api/projects/{alone}/ml/featurize"), 202)["job_id"]
            )
            project = make_project(
                team, "images", "image_classification_multiclass", ["x", "y"], images, "image", 9
            )
            samples: list[tuple[float, float]] = []
            stop = threading.Event()
            labeler = threading.Thread(target=_labeling_load, args=(team, load_project, stop, samples))
            labeler.start()
            time.sleep(BASELINE_S)
            started_at = time.perf_counter()
            job_id = ok(team.admin.post(f"/api/projects/{project}/ml/featurize"), 202)["job_id"]
            job = wait_job(team.admin, job_id)
            finished_at = time.perf_counter()
            stop.set()
            labeler.join()
    result = job["result"]
    before = [ms for at, ms in samples if at < started_at]
    during = [ms for at, ms in samples if started_at <= at <= finished_at]
    images_per_s = alone_job["result"]["items_per_s"]
    return {
        "bench": "featurize",
        "params": {
            "items": count,
            "dataset": "fashion-mnist (28x28 PNG)",
            "threads": threads,
            "batch": batch,
            "cores": os.cpu_count(),
        },
        "figures": {
            "images_per_s": images_per_s,
            "share_of_raw": round(images_per_s / raw, 3),
            "embedded": alone_job["result"]["embedded"],
            "images_per_s_beside_labeling": result["items_per_s"],
            "job_seconds_beside_labeling": round(finished_at - started_at, 2),
            "next_p50_ms_before": round(percentile(before, 0.5), 2) if before else None,
            "next_p99_ms_before": round(percentile(before, 0.99), 2) if before else None,
            "next_p50_ms_featurizing": round(percentile(during, 0.5), 2) if during else None,
            "next_p99_ms_featurizing": round(percentile(during, 0.99), 2) if during else None,
            "next_calls_featurizing": len(during),
        },
        "reference": {"raw_backbone_images_per_s": round(raw, 2)},
    }
