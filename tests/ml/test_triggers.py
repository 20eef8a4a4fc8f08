"""When ML assist starts a job by itself, read from the project's counters: featurizing first while items
wait, the first training only at enough labels in at least two classes, then every `retrain_every`
labels or at once when asked; nothing for a paused project, ML assist off or a task type it does not
cover; one ML job per project at a time. And what the API refuses: training a one-class project or on
labels of one class, settings that do not exist or are out of range, a labeler steering it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.core import clock
from tessera.db.session import Database
from tessera.jobs.models import Job, JobStatus
from tessera.ml.models import MlSettings, ModelStatus, ModelVersion
from tessera.ml.service import FEATURIZE_JOB, TRAIN_JOB, ml_settings, read_ml_settings
from tessera.ml.triggers import due_job, start_due_ml_jobs
from tessera.projects.models import Project, ProjectStatus, TaskType
from tests.support.data_api import job_done
from tests.support.labeling import Team, claim, classes, make_team, ok, submit


def _configure(db: Database, project_id: int, **values: Any) -> None:
    with db.write() as session:
        row = ml_settings(session, session.get_one(Project, project_id))
        for name, value in values.items():
            setattr(row, name, value)


def _due(db: Database, project_id: int) -> str | None:
    with db.read() as session:
        project = session.get_one(Project, project_id)
        return due_job(session, project, read_ml_settings(session, project))


def _label_page(client: TestClient, team: Team, names: list[str]) -> None:
    task = claim(client, team, team.labelers[0])
    assert task is not None and len(task["items"]) == len(names), task
    labels = {item["id"]: classes(name) for item, name in zip(task["items"], names, strict=True)}
    ok(submit(client, task, team.labelers[0], labels))


def _queued_ml_job(db: Database, project_id: int, kind: str = TRAIN_JOB, **values: Any) -> int:
    """A job row as the job table holds it, never handed to a runner (the tests' scheduler is off)."""
    with db.write() as session:
        job = Job(kind=kind, project_id=project_id, status=JobStatus.queued, params={}, **values)
        session.add(job)
        session.flush()
        return job.id


def test_featurizing_comes_first_then_training_waits_for_balanced_labels(
    client: TestClient, db: Database
) -> None:
    team = make_team(db, items=20, labelers=1)  # image classification: cat, dog, bird; pages of 4
    assert _due(db, team.project_id) == FEATURIZE_JOB  # a new project: 20 items, none featurized
    _configure(db, team.project_id, featurized_items=19, first_training_labels=6, min_labels_per_class=3)
    assert _due(db, team.project_id) == FEATURIZE_JOB
    _configure(db, team.project_id, featurized_items=20)
    assert _due(db, team.project_id) is None

    _label_page(client, team, ["cat"] * 4)
    assert _due(db, team.project_id) is None  # 4 labels of the 6 wanted
    _label_page(client, team, ["dog", "dog", "bird", "bird"])
    assert _due(db, team.project_id) is None  # 8 labels, but only cat has 3
    _label_page(client, team, ["dog", "cat", "cat", "cat"])
    assert _due(db, team.project_id) == TRAIN_JOB  # cat 7, dog 3: two classes with 3 each

    _configure(db, team.project_id, featurized_items=19)  # new items: embeddings before training
    assert _due(db, team.project_id) == FEATURIZE_JOB
    _configure(db, team.project_id, featurized_items=20, trained_at_labels=12, retrain_every=4)
    assert _due(db, team.project_id) is None
    _label_page(client, team, ["bird"] * 4)
    assert _due(db, team.project_id) == TRAIN_JOB  # 16 = 12 + 4
    _configure(db, team.project_id, retrain_every=5)
    assert _due(db, team.project_id) is None  # 16 < 12 + 5
    _configure(db, team.project_id, training_requested=True)
    assert _due(db, team.project_id) == TRAIN_JOB  # asked for: at once
    status = ok(client.get(f"/api/projects/{team.project_id}/ml", headers=team.manager))
    assert (status["labeled"], status["trained_at_labels"], status["next_training_in"]) == (16, 12, 1)

    ok(client.post(f"/api/projects/{team.project_id}/pause", headers=team.manager))
    assert _due(db, team.project_id) is None
    ok(client.post(f"/api/projects/{team.project_id}/resume", headers=team.manager))
    assert _due(db, team.project_id) == TRAIN_JOB
    ok(
        client.patch(
            f"/api/projects/{team.project_id}/ml/settings", json={"enabled": False}, headers=team.manager
        )
    )
    assert _due(db, team.project_id) is None
    assert (
        ok(client.get(f"/api/projects/{team.project_id}/ml", headers=team.manager))["next_training_in"]
        is None
    )


def test_the_next_training_is_not_due_now_while_the_classes_are_unbalanced(
    client: TestClient, db: Database
) -> None:
    team = make_team(db, items=8, labelers=1)
    _configure(db, team.project_id, featurized_items=8, first_training_labels=4, min_labels_per_class=2)
    _label_page(client, team, ["cat"] * 4)
    assert _due(db, team.project_id) is None
    status = ok(client.get(f"/api/projects/{team.project_id}/ml", headers=team.manager))
    assert status["next_training_in"] != 0


def test_the_scheduler_starts_one_ml_job_per_project_and_only_where_due(runtime: Any, db: Database) -> None:
    image = make_team(db, items=4)
    text = make_team(
        db,
        items=3,
        task_type=TaskType.text_classification_multiclass,
        texts=["a", "b", "c"],
        width=None,
        height=None,
    )
    busy = make_team(db, items=4)  # due as well, but its training is queued
    done_before = make_team(db, items=4)  # an ML job that finished does not block
    make_team(db, items=4, task_type=TaskType.object_detection)  # no ML assist for its task type
    paused = make_team(db, items=4)
    switched_off = make_team(db, items=4)
    up_to_date = make_team(db, items=4)
    failed_lately = make_team(db, items=4)  # its last ML job failed 5 minutes ago: it waits
    failed_long_ago = make_team(db, items=4)  # 11 minutes ago: it tries again
    _queued_ml_job(db, busy.project_id)
    finished = _queued_ml_job(db, done_before.project_id, kind=FEATURIZE_JOB)
    _queued_ml_job(db, image.project_id, kind="test.noop")  # not an ML job: does not block
    lately = _queued_ml_job(db, failed_lately.project_id, kind=FEATURIZE_JOB)
    long_ago = _queued_ml_job(db, failed_long_ago.project_id, kind=FEATURIZE_JOB)
    with db.write() as session:
        session.get_one(Job, finished).status = JobStatus.succeeded
        for job_id, minutes in ((lately, 5), (long_ago, 11)):
            job = session.get_one(Job, job_id)
            job.status, job.finished_at = JobStatus.failed, clock.now() - timedelta(minutes=minutes)
        session.get_one(Project, paused.project_id).status = ProjectStatus.paused
    _configure(db, switched_off.project_id, enabled=False)
    _configure(db, up_to_date.project_id, featurized_items=4)

    class RolledBack(Exception):
        pass

    started: list[tuple[int, str, JobStatus]] = []
    with pytest.raises(RolledBack), db.write() as session:  # the jobs are looked at, never run
        for job_id in start_due_ml_jobs(session):
            job = session.get_one(Job, job_id)
            started.append((int(job.project_id or 0), job.kind, job.status))
        raise RolledBack
    assert sorted(started) == sorted(
        (team.project_id, FEATURIZE_JOB, JobStatus.queued)
        for team in (image, text, done_before, failed_long_ago)
    )
    with db.read() as session:  # nothing of it was kept: only the rows made above
        kinds = session.execute(select(Job.project_id).where(Job.kind.like("ml.%"))).scalars().all()
    assert sorted(kinds) == sorted(
        team.project_id for team in (busy, done_before, failed_lately, failed_long_ago)
    )


def test_training_on_demand_refuses_what_cannot_train(client: TestClient, db: Database) -> None:
    lonely = make_team(db, items=4, labels=("cat",))
    refused = client.post(f"/api/projects/{lonely.project_id}/ml/train", headers=lonely.manager)
    assert refused.status_code == 422, refused.text
    assert "one class" in refused.json()["message"]
    assert refused.json()["details"]["errors"][0]["field"] == "label_classes"

    team = make_team(db, items=12, labelers=1)
    url = f"/api/projects/{team.project_id}/ml/train"
    refused = client.post(url, headers=team.manager)  # no label at all
    assert refused.status_code == 409 and "one class" in refused.json()["message"]
    _label_page(client, team, ["cat"] * 4)
    refused = client.post(url, headers=team.manager)
    assert refused.status_code == 409 and "one class" in refused.json()["message"]
    _label_page(client, team, ["dog", "dog", "cat", "cat"])
    for who in (team.labelers[0], team.reviewer, team.outsider):
        assert client.post(url, headers=who).status_code in (403, 404)
    assert client.post(url, headers=team.labelers[0]).status_code == 403

    blocking = _queued_ml_job(db, team.project_id, kind=FEATURIZE_JOB)
    refused = client.post(url, headers=team.manager)
    assert refused.status_code == 409 and f"job {blocking}" in refused.json()["message"]
    assert refused.json()["details"]["job_id"] == blocking
    refused = client.post(f"/api/projects/{team.project_id}/ml/featurize", headers=team.manager)
    assert refused.status_code == 409 and f"job {blocking}" in refused.json()["message"]
    with db.write() as session:
        session.get_one(Job, blocking).status = JobStatus.cancelled

    # Accepted; with no file to embed (these items have none) the round fails and says why.
    started = ok(client.post(url, headers=team.manager), 202)
    assert started["kind"] == TRAIN_JOB
    job = job_done(client, team.manager, started["job_id"])
    assert job["status"] == "failed" and "too few labeled items with embeddings" in job["error"]
    status = ok(client.get(f"/api/projects/{team.project_id}/ml", headers=team.manager))
    assert status["last_failure"]["kind"] == TRAIN_JOB and "too few" in status["last_failure"]["error"]
    assert status["latest_model"]["status"] == "failed"
    with db.read() as session:
        row = session.get_one(MlSettings, team.project_id)
        assert (row.training_requested, row.trained_at_labels) == (False, 8)
        version = session.scalars(
            select(ModelVersion).where(ModelVersion.project_id == team.project_id)
        ).one()
        assert version.status == ModelStatus.failed and "too few" in version.message


REFUSED_CHANGES = [
    ({"bogus": 1}, "bogus"),
    ({"target_precision": 1.5}, "target_precision"),
    ({"target_precision": 0.2}, "target_precision"),
    ({"first_training_labels": 2}, "first_training_labels"),
    ({"min_labels_per_class": 1}, "min_labels_per_class"),
    ({"retrain_every": 0}, "retrain_every"),
    ({"retrain_every": 2.5}, "retrain_every"),
    ({"enabled": "maybe"}, "enabled"),
    ({"retrain_every": 7, "target_precision": 1.5}, "target_precision"),  # nothing of it is kept
]


def test_every_bad_ml_setting_of_a_change_is_named_at_once_and_none_is_kept(
    client: TestClient, db: Database
) -> None:
    team = make_team(db, items=2)
    url = f"/api/projects/{team.project_id}/ml/settings"
    change = {
        "target_precision": 1.5,
        "retrain_every": 60,
        "first_training_labels": 2,
        "min_labels_per_class": 1,
    }
    response = client.patch(url, json=change, headers=team.manager)
    assert response.status_code == 422, response.text
    errors = response.json()["details"]["errors"]
    assert [error["field"] for error in errors] == [
        "target_precision",
        "first_training_labels",
        "min_labels_per_class",
    ]
    assert errors[1]["message"] == "must be between 4 and 1000000"
    typed = {"retrain_every": 60, "first_training_labels": 2.5, "colour": "red"}  # the body's own checks
    response = client.patch(url, json=typed, headers=team.manager)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["details"]["errors"]] == [
        "first_training_labels",
        "colour",
    ]
    settings = ok(client.get(f"/api/projects/{team.project_id}/ml", headers=team.manager))["settings"]
    assert settings["retrain_every"] == 50


def test_ml_settings_out_of_range_or_unknown_are_refused_naming_the_field(
    client: TestClient, db: Database
) -> None:
    team = make_team(db, items=2)
    url = f"/api/projects/{team.project_id}/ml/settings"
    for change, field in REFUSED_CHANGES:
        response = client.patch(url, json=change, headers=team.manager)
        assert response.status_code == 422, (change, response.text)
        assert [error["field"] for error in response.json()["details"]["errors"]] == [field], change
    settings = ok(client.get(f"/api/projects/{team.project_id}/ml", headers=team.manager))["settings"]
    assert (settings["retrain_every"], settings["target_precision"]) == (50, 0.95)


def test_ml_settings_are_changed_by_managers_only(client: TestClient, db: Database) -> None:
    team = make_team(db, items=2)
    url = f"/api/projects/{team.project_id}/ml"
    change = {
        "target_precision": 0.9,
        "first_training_labels": 20,
        "retrain_every": 10,
        "active_learning": False,
    }
    changed = ok(client.patch(f"{url}/settings", json=change, headers=team.manager))
    assert changed["supported"] is True
    assert {name: changed["settings"][name] for name in change} == change
    assert changed["next_training_in"] == 20
    assert ok(client.get(url, headers=team.reviewer))["settings"]["retrain_every"] == 10
    for who in (team.labelers[0], team.reviewer):
        assert client.patch(f"{url}/settings", json={"retrain_every": 3}, headers=who).status_code == 403
    assert client.get(url, headers=team.labelers[0]).status_code == 403
    assert ok(client.get(url, headers=team.manager))["settings"]["retrain_every"] == 10


def test_a_task_type_without_ml_assist_says_so(client: TestClient, db: Database) -> None:
    team = make_team(db, items=3, task_type=TaskType.object_detection)
    url = f"/api/projects/{team.project_id}/ml"
    status = ok(client.get(url, headers=team.manager))
    assert status["supported"] is False and status["settings"]["enabled"] is False
    assert status["next_training_in"] is None and "not object_detection" in status["summary"]
    refused = client.patch(f"{url}/settings", json={"enabled": True}, headers=team.manager)
    assert refused.status_code == 422
    assert refused.json()["details"]["errors"][0]["field"] == "enabled"
    refused = client.post(f"{url}/train", headers=team.manager)
    assert refused.status_code == 409 and "not object_detection" in refused.json()["message"]
    _configure(db, team.project_id, enabled=True, training_requested=True)  # even forced on: nothing
    assert _due(db, team.project_id) is None


def test_featurizing_a_task_type_without_ml_assist_is_refused(client: TestClient, db: Database) -> None:
    team = make_team(db, items=3, task_type=TaskType.object_detection)
    response = client.post(f"/api/projects/{team.project_id}/ml/featurize", headers=team.manager)
    if response.status_code == 202:
        job_done(client, team.manager, response.json()["job_id"])  # let it end before the tables empty
    assert response.status_code == 409
