"""`ml-sim`: a labeling simulation on real data with known answers. A real `tessera serve` (its scheduler
starts the ML jobs at their real triggers, its in-process runner runs them); one simulated labeler takes
tasks from the real queue and answers from the ground truth: a prelabel that is right is confirmed, a
wrong one corrected, an item without one labeled. The labeler waits while a due ML job runs (labeler time
is not simulated: a model is ready as soon as its labels exist). Run twice, with active learning on and
off; each model version is scored on a held-out test set for the learning curves.

Actions are key presses in the labeling tool: one class key for each item whose label the labeler types
(no prelabel, or a wrong one), one Enter per page; a right prelabel costs no key of its own — its page's
Enter confirms it. All-manual labeling of the same items costs one key per item and one Enter per page."""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.ml_data import LabeledData, bbc_news, fashion_mnist
from bench.ml_support import Crew, crew, make_project, ml_state, ok, wait_ml_idle
from bench.support import percentile
from tessera.ml.backbones import MiniLM, MobileNetV2, preprocess_image
from tessera.ml.heads import Head

DEFAULT_ITEMS = {"fashion-mnist": 2000, "bbc-news": None}


def _test_embeddings(data: LabeledData, models_dir: Path) -> np.ndarray:
    if data.media == "image":
        backbone = MobileNetV2(models_dir)
        pixels = [preprocess_image(png) for png in data.test_inputs]  # type: ignore[arg-type]
        return np.concatenate(
            [backbone.embed(np.stack(pixels[i : i + 32])) for i in range(0, len(pixels), 32)]
        )
    text = MiniLM()
    return np.concatenate(
        [text.embed(data.test_inputs[i : i + 32]) for i in range(0, len(data.test_inputs), 32)]
    )


def _simulate(
    team: Crew, data: LabeledData, root: Path, active_learning: bool, page_size: int, tag: str
) -> dict[str, Any]:
    task_type = f"{data.media}_classification_multiclass"
    project_id = make_project(
        team, f"{data.name} {tag}", task_type, data.classes, root, data.media, page_size
    )
    ok(team.admin.patch(f"/api/projects/{project_id}/ml/settings", json={"active_learning": active_learning}))
    started = time.perf_counter()
    wait_ml_idle(team, project_id, grace=1.0)
    featurize_s = time.perf_counter() - started
    names = {}
    total = len(data.truth)
    labeled = keys = pages = 0
    shown = confirmed = 0
    first_prelabel_at: int | None = None
    claim_ms: list[float] = []
    while True:
        began = time.perf_counter()
        response = team.labeler.post(f"/api/projects/{project_id}/tasks/next", json={})
        claim_ms.append((time.perf_counter() - began) * 1000)
        if response.status_code == 204:
            break
        task = ok(response)
        answers = []
        for item in task["items"]:
            name = names.setdefault(item["id"], item["path"])
            truth = data.truth[name]
            offered = (item.get("prelabel") or {}).get("classes")
            if offered is not None:
                shown += 1
                if first_prelabel_at is None:
                    first_prelabel_at = labeled
            if offered == [truth]:
                confirmed += 1
            else:
                keys += 1
            answers.append({"item_id": item["id"], "label": {"classes": [truth]}})
        keys += 1
        pages += 1
        labeled += len(answers)
        ok(team.labeler.post(f"/api/tasks/{task['id']}/submit", json={"labels": answers}))
        if ml_state(team, project_id)["next_training_in"] == 0:
            wait_ml_idle(team, project_id, grace=1.0)
    state = wait_ml_idle(team, project_id, grace=0.5)
    models = ok(team.admin.get(f"/api/projects/{project_id}/ml/models"))
    manual_keys = total + math.ceil(total / page_size)
    return {
        "project_id": project_id,
        "featurize_s": round(featurize_s, 1),
        "labels_before_first_prelabels": first_prelabel_at,
        "prelabels_shown": shown,
        "prelabels_right": confirmed,
        "prelabel_precision": round(confirmed / shown, 4) if shown else None,
        "realized_precision_api": state["realized_precision"],
        "prelabeled_share": round(shown / (total - first_prelabel_at), 4)
        if first_prelabel_at is not None
        else 0.0,
        "keys": keys,
        "manual_keys": manual_keys,
        "actions_saved_share": round(1 - keys / manual_keys, 4),
        "next_p50_ms": round(percentile(claim_ms, 0.5), 2),
        "next_p99_ms": round(percentile(claim_ms, 0.99), 2),
        "models": list(reversed(models)),
    }


def _curve(
    run: dict[str, Any],
    data_dir: Path,
    test_vectors: np.ndarray,
    test_truth: list[str],
    classes: list[str],
    class_ids: dict[str, int],
) -> list[dict[str, Any]]:
    points = []
    for model in run["models"]:
        if model["status"] != "ready":
            continue
        version = model["version"]
        head = Head.load(data_dir / "models" / f"project-{run['project_id']}" / f"head-v{version:04d}.npz")
        predicted = [head.classes[i] for i in head.probabilities(test_vectors).argmax(axis=1)]
        accuracy = float(np.mean([p == class_ids[t] for p, t in zip(predicted, test_truth, strict=True)]))
        points.append({
            "model_version": version, "labels": model["trained_on"], "test_accuracy": round(accuracy, 4),
            "threshold": model["threshold"], "held_out_accuracy": model["metrics"].get("accuracy"),
        })  # fmt: skip
    return points


def _class_ids(team: Crew, project_id: int) -> dict[str, int]:
    project = ok(team.admin.get(f"/api/projects/{project_id}"))
    return {c["name"]: c["id"] for c in project["label_classes"]}


def run(*, items: int | None, database: str | None) -> dict[str, Any]:
    dataset = os.environ.get("TESSERA_BENCH_DATASET", "fashion-mnist")
    if dataset not in DEFAULT_ITEMS:
        raise SystemExit(f"TESSERA_BENCH_DATASET must be one of {', '.join(DEFAULT_ITEMS)}")
    count = items if items is not None else DEFAULT_ITEMS[dataset]
    with tempfile.TemporaryDirectory(prefix="tessera-bench-ml-") as scratch_name:
        scratch = Path(scratch_name)
        root = scratch / "data" / "datastores" / "files"
        tests = int(os.environ.get("TESSERA_BENCH_TEST_ITEMS", "1000"))
        data = (
            fashion_mnist(root, count or 2000, tests)
            if dataset == "fashion-mnist"
            else bbc_news(root, count, test_items=tests)
        )
        page_size = 9 if data.media == "image" else 1
        env = {
            "TESSERA_SCHEDULER_INTERVAL_SECONDS": "0.2",
            "TESSERA_ML_THREADS": os.environ.get("TESSERA_ML_THREADS", "0"),
        }
        runs = {}
        with crew(scratch, database, env) as team:
            test_vectors = _test_embeddings(data, team.data_dir / "models")
            for active in (True, False):
                tag = "active learning" if active else "shuffled order"
                run_figures = _simulate(team, data, root, active, page_size, tag)
                ids = _class_ids(team, run_figures["project_id"])
                run_figures["learning_curve"] = _curve(
                    run_figures, team.data_dir, test_vectors, data.test_classes, data.classes, ids
                )
                run_figures.pop("models")
                runs["active_learning" if active else "no_active_learning"] = run_figures
    main = runs["active_learning"]
    target = 0.95
    return {
        "bench": "ml-sim",
        "params": {
            "dataset": dataset,
            "items": len(data.truth),
            "test_items": len(data.test_classes),
            "page_size": page_size,
            "target_precision": target,
            "labeler": "answers from the ground truth",
            "actions": "keys: one per typed label, one Enter per page",
        },
        "figures": {
            "labels_before_first_prelabels": main["labels_before_first_prelabels"],
            "prelabel_precision": main["prelabel_precision"],
            "target_precision": target,
            "prelabeled_share": main["prelabeled_share"],
            "actions_saved_share": main["actions_saved_share"],
            "next_p99_ms": main["next_p99_ms"],
            "runs": runs,
        },
        "reference": {"all_manual_keys": main["manual_keys"]},
    }
