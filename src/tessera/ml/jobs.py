"""ML assist's background jobs, run by the job runners (in-process, or RQ workers on other machines, GPU
ones among them): `ml.featurize` embeds the items that have no embedding yet and regroups the unlabeled
ones into clustered pages; `ml.train` trains and validates a model version on the labels that count (the
threshold, the metrics, possible label errors) and then queues `ml.infer`, which pre-labels what the model
is sure of and orders the rest of the queue for active learning."""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np
from sqlalchemy import func, select

from tessera.items.counts import read_counts
from tessera.items.models import ItemState
from tessera.jobs.context import JobContext
from tessera.jobs.registry import JobFunction, job_function
from tessera.jobs.service import create_job
from tessera.ml.clustering import page_clusters
from tessera.ml.featurize import featurize_project, project_backbone, project_store
from tessera.ml.heads import Head
from tessera.ml.inference import open_candidates, order_by_pages, run_inference, write_clusters
from tessera.ml.models import MlSettings, ModelStatus, ModelVersion
from tessera.ml.service import FEATURIZE_JOB, INFER_JOB, TRAIN_JOB, labeled_count, live_items, ml_settings
from tessera.ml.training import (
    finish_version,
    head_path,
    is_multilabel,
    read_labels,
    read_offered,
    start_version,
    store_label_issues,
    train_round,
    training_data,
    why_untrainable,
)
from tessera.projects.models import LabelClass, Project
from tessera.queue.settings import labeling_settings

log = logging.getLogger(__name__)


def single_threaded_math(function: JobFunction) -> JobFunction:
    """Run the job with NumPy's and scikit-learn's BLAS and OpenMP pools limited to one thread: their
    matrices here are small, and on a machine also serving labelers a pool per core spun against the
    other work (a 600-label logistic regression took 8 s with the pools, 0.5 s without)."""

    @functools.wraps(function)
    def limited(context: JobContext) -> dict[str, Any] | None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return function(context)

    return limited


def _project(context: JobContext) -> tuple[Project, MlSettings]:
    with context.database.write() as session:
        project = session.get_one(Project, context.project_id)
        row = ml_settings(session, project)
        session.expunge(project)
        session.expunge(row)
    return project, row


@job_function(FEATURIZE_JOB, own_process=True)
@single_threaded_math
def run_featurize(context: JobContext) -> dict[str, Any]:
    project, row = _project(context)
    with context.database.read() as session:  # what the scheduler compares featurized_items with
        counted = live_items(session, project.id)
    context.progress(0, None, f"embedding the items of project {project.id}")
    report = featurize_project(
        context.database,
        context.settings,
        project,
        progress=lambda done, total: context.progress(done, total),
    )
    result: dict[str, Any] = report.as_dict()
    with context.database.write() as session:
        # Every item counted when this run started was embedded or skipped with its reason (or is missing):
        # the scheduler starts the next featurization only when the project has more items than that.
        session.get_one(MlSettings, project.id).featurized_items = counted
    if row.clustering and project.media == "image":  # ML assist's image projects are classification
        result["clustered_pages"] = cluster_project(context, project)
    return result


def cluster_project(context: JobContext, project: Project) -> int:
    """Regroup the open unlabeled items into pages of similar ones; the number of pages."""
    with context.database.read() as session:
        page_size = labeling_settings(session, project).page_size
        candidates = open_candidates(session, project.id)
    if page_size <= 1:
        return 0
    ids, vectors = project_store(project, context.settings).load(np.array(candidates, dtype=np.int64))
    context.progress(0, None, f"grouping {len(ids):,} items into pages of {page_size}")
    pages = page_clusters(vectors, page_size)
    with context.database.write() as session:
        write_clusters(session, project.id, ids.tolist(), pages)
        modelled = session.scalar(
            select(ModelVersion.id)
            .where(ModelVersion.project_id == project.id, ModelVersion.status == ModelStatus.ready)
            .limit(1)
        )
        if not (ml_settings(session, project).active_learning and modelled is not None):
            order_by_pages(session, project.id)  # else active learning's order stands
    return int(pages.max()) + 1 if len(pages) else 0


@job_function(TRAIN_JOB, own_process=True)
@single_threaded_math
def run_training(context: JobContext) -> dict[str, Any]:
    project, row = _project(context)
    labels = read_labels(context.database, project)
    with context.database.read() as session:
        labeled = labeled_count(session, project.id)
        class_ids = list(
            session.scalars(
                select(LabelClass.id).where(LabelClass.project_id == project.id).order_by(LabelClass.position)
            )
        )
    problem = why_untrainable(class_ids, labels)
    with context.database.write() as session:  # this round counts as the training at these labels
        state = session.get_one(MlSettings, project.id)
        state.trained_at_labels, state.training_requested = labeled, False
    if problem is not None:
        raise ValueError(f"no training: {problem}")
    backbone = project_backbone(project, context.settings)
    version = start_version(context.database, project, backbone.key, row.target_precision, context.job_id)
    try:
        context.progress(0, None, f"embedding the labeled items model v{version.version} learns from")
        featurize_project(context.database, context.settings, project, only=list(labels))
        ids, vectors = project_store(project, context.settings).load(np.array(sorted(labels), dtype=np.int64))
        multilabel = is_multilabel(project)
        data = training_data(
            labels, ids, vectors, class_ids, multilabel, read_offered(context.database, project)
        )
        context.progress(
            0, None, f"training and validating model v{version.version} on {len(data.item_ids):,} labels"
        )
        pool = _pool_sample(context, project, seed=version.version)
        head, figures, issues = train_round(
            data, row.target_precision, multilabel, seed=version.version, pool=pool
        )
        path = head_path(context.settings, project.id, version.version)
        head.save(path)
        store_label_issues(context.database, project.id, version.version, issues)
    except Exception as error:
        finish_version(
            context.database,
            version.id,
            status=ModelStatus.failed,
            message=f"training failed: {error}"[:1000],
        )
        raise
    finish_version(
        context.database,
        version.id,
        status=ModelStatus.ready,
        trained_on=len(data.item_ids),
        threshold=figures["threshold"],
        message=figures["message"][:1000],
        labels_needed=figures["labels_needed"],
        metrics=figures["metrics"] | {"possible_label_errors": len(issues)},
        curve=figures["curve"],
        head_file=str(path.relative_to(context.settings.data_dir)),
    )
    with context.database.write() as session:
        create_job(session, kind=INFER_JOB, params={"model_version_id": version.id}, project_id=project.id)
    log.info("project %s: model v%s %s", project.id, version.version, figures["message"])
    return {
        "model_version": version.version,
        "threshold": figures["threshold"],
        "message": figures["message"],
        **figures["metrics"],
        "possible_label_errors": len(issues),
    }


POOL_SAMPLE = 20_000  # open items whose confidences the threshold is weighted to (ml/calibration.py)


def _pool_sample(context: JobContext, project: Project, seed: int) -> np.ndarray[Any, Any]:
    """Embeddings of (a random sample of) the open items the new head may pre-label."""
    with context.database.read() as session:
        candidates = np.array(open_candidates(session, project.id), dtype=np.int64)
    if len(candidates) > POOL_SAMPLE:
        candidates = np.sort(np.random.default_rng(seed).choice(candidates, POOL_SAMPLE, replace=False))
    return project_store(project, context.settings).load(candidates)[1]


@job_function(INFER_JOB, own_process=True)
@single_threaded_math
def run_infer(context: JobContext) -> dict[str, Any]:
    project, row = _project(context)
    with context.database.read() as session:
        version = session.get_one(ModelVersion, int(context.params["model_version_id"]))
        session.expunge(version)
        newest = session.scalar(
            select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project.id)
        )
        waiting = int(read_counts(session, project.id).get(ItemState.unlabeled.value, 0))
    if version.version != newest or version.head_file is None:
        return {"skipped": f"model v{version.version} is no longer the newest"}
    head = Head.load(context.settings.data_dir / version.head_file)
    store = project_store(project, context.settings)
    context.progress(0, waiting, f"predicting {waiting:,} unlabeled items with model v{version.version}")
    report = run_inference(
        context.database,
        project,
        store,
        head,
        version=version.version,
        threshold=version.threshold,
        active_learning=row.active_learning,
        multilabel=is_multilabel(project),
    )
    finish_version(context.database, version.id, prelabeled=report.prelabeled)
    return report.as_dict() | {"model_version": version.version}
