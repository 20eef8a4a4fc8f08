"""ML assist in the pages, in Chromium, over real ML state: a text project whose labeler labels 60 items
through the API (the first one wrongly), and the real featurize, train and infer jobs on the MiniLM
backbone (settle_ml, on the same database and runner as the page's server). The dashboard's panel shows
the model, its threshold, the next training and the ML jobs, and links to the possible label errors; the
review page's filter lists the mislabeled item with the model's suggestion; the details page saves the
ML settings (a refused value is named next to its field, and nothing of that form is saved), and "Start
training now" says why it cannot, then trains; the wizard's ML switch, off, leaves ML assist off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.memberships import set_member
from tessera.accounts.models import ProjectRole, User, WorkspaceRole
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.jobs.models import Job, JobStatus
from tessera.projects.models import Project, TaskType
from tests.support.data_api import ok, ok_list
from tests.support.exports import LabeledProject, labeled_project
from tests.support.factories import bearer, make_token, make_user
from tests.support.labeling import make_team
from tests.support.ml import settle_ml, topic_texts
from tests.support.web import save_screenshot, sign_in

CLASSES = ["food", "money", "sport"]


@dataclass(frozen=True)
class Topics:
    made: LabeledProject
    truth: dict[str, str]  # file name → its topic
    ids: dict[int, str]  # item id → file name


def _topics(client: TestClient, db: Database, settings: Settings, count: int) -> Topics:
    """A text project over `count` texts of three topics, nothing labeled, ML assist's first training at
    30 labels; its items embedded by the real featurize job."""
    texts = topic_texts(count)
    files = {f"t{i:03d}.txt": text for i, (_, text) in enumerate(texts)}
    made = labeled_project(
        client, db, settings, task_type="text_classification_multiclass", classes=CLASSES, files=files,
        labels={}, name="Topics",
    )  # fmt: skip
    changes = {"first_training_labels": 30, "target_precision": 0.9}
    ok(client.patch(f"/api/projects/{made.project_id}/ml/settings", json=changes, headers=made.admin))
    assert [job["kind"] for job in settle_ml(db, made.project_id)] == ["ml.featurize"]
    truth = {f"t{i:03d}.txt": topic for i, (topic, _) in enumerate(texts)}
    return Topics(made, truth, {item_id: name for name, item_id in made.item_ids.items()})


def _label(client: TestClient, topics: Topics, count: int, *, wrong_first: bool = False) -> str:
    """The labeler labels `count` items from the queue by their topic (the first one wrongly if asked);
    the wrongly labeled file's name."""
    made, wrong = topics.made, ""
    for turn in range(count):
        task = ok(client.post(f"/api/projects/{made.project_id}/tasks/next", json={}, headers=made.labeler))
        [item] = task["items"]
        name = topics.ids[item["id"]]
        topic = topics.truth[name]
        if wrong_first and turn == 0:
            wrong, topic = name, "money" if topic != "money" else "food"
        label = {"item_id": item["id"], "label": {"classes": [topic]}}
        ok(client.post(f"/api/tasks/{task['id']}/submit", json={"labels": [label]}, headers=made.labeler))
    return wrong


def _reviewer(db: Database, project_id: int, username: str) -> None:
    with db.write() as session:
        set_member(
            session, project_id=project_id, user=make_user(session, username), role=ProjectRole.reviewer
        )


def test_the_dashboard_shows_the_model_and_review_lists_the_mislabeled_item(
    page: Any, browser: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    topics = _topics(client, db, settings, 120)
    made = topics.made
    wrong = _label(client, topics, 60, wrong_first=True)
    jobs = settle_ml(db, made.project_id)
    assert [(job["kind"], job["status"]) for job in jobs[1:]] == [
        ("ml.train", "succeeded"),
        ("ml.infer", "succeeded"),
    ]
    status = ok(client.get(f"/api/projects/{made.project_id}/ml", headers=made.admin))
    model = status["latest_model"]
    assert model["threshold"] is not None and status["possible_label_errors"] >= 1, model["message"]

    sign_in(page, live_server, "topics-admin")
    page.goto(f"{live_server}/projects/{made.project_id}")
    page.locator("#ml-panel").wait_for()
    assert page.locator("#ml-state").inner_text() == "on"
    summary = status["summary"]
    assert page.locator("#ml-summary").inner_text() == summary[0].upper() + summary[1:]
    assert page.locator("#ml-next").inner_text() == "in 50 labels"
    assert page.locator("#ml-model").inner_text().startswith("v1, trained on 60 labels, ")
    threshold = page.locator("#ml-threshold").inner_text()
    assert threshold.startswith(f"confidence ≥ {model['threshold']:.3f} (target 90% precision); "), threshold
    assert f"{model['prelabeled']} items pre-labeled" in threshold
    waiting = status["prelabels_waiting"]
    assert page.locator("#ml-waiting").inner_text() == f"{waiting} items waiting for a labeler to confirm"
    assert page.locator("#ml-realized").inner_text() == "none decided yet (target 90%)"
    assert page.locator("#ml-job").inner_text() == "nothing"
    page.locator("#ml-jobs-box").wait_for()
    rows = page.locator("#ml-jobs tbody tr")
    kinds = [text.split(" ", 1)[1] for text in rows.locator("td:first-child").all_inner_texts()]
    assert kinds == ["ml.infer", "ml.train", "ml.featurize"]  # newest first
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"succeeded"}
    assert all(took.endswith(" s") for took in rows.locator("td:nth-child(3)").all_inner_texts())

    # A prelabel accepted: the realized precision follows on the next refresh, without a reload.
    task = ok(client.post(f"/api/projects/{made.project_id}/tasks/next", json={}, headers=made.labeler))
    [item] = task["items"]
    assert task["kind"] == "prelabeled" and item["prelabel"]
    accepted = {"labels": [{"item_id": item["id"], "label": item["prelabel"]}]}
    ok(client.post(f"/api/tasks/{task['id']}/submit", json=accepted, headers=made.labeler))
    page.locator(
        "#ml-realized", has_text="100% kept of 1 decided prelabel (1 accepted, 0 corrected)"
    ).wait_for(timeout=15_000)
    page.locator("#ml-next", has_text="in 49 labels").wait_for()
    save_screenshot(page, "ml-dashboard")

    errors = status["possible_label_errors"]
    link = page.locator("#ml-errors-link")
    assert link.inner_text() == f"{errors} item{'' if errors == 1 else 's'} to look at"
    link.click()
    page.wait_for_url(f"{live_server}/projects/{made.project_id}/review?possible_label_error=true")
    wrong_id = made.item_ids[wrong]
    card = page.locator(f".review-card[data-item-id='{wrong_id}']")
    card.wait_for()
    assert page.get_by_label("Possible label errors").is_checked()
    assert page.locator(".review-card").count() == errors
    suggestion = card.locator(".ml-suggestion").inner_text()
    assert suggestion.startswith(
        f"Possible label error — model suggests: {topics.truth[wrong]} (label quality "
    )
    assert suggestion.endswith(", model v1)")
    save_screenshot(page, "ml-review-possible-label-errors")

    page.get_by_label("Possible label errors").uncheck()  # the filter off: every labeled item, 61
    page.wait_for_function("document.querySelectorAll('.review-card').length === 50")  # one page of 50
    page.get_by_label("Possible label errors").check()
    page.wait_for_function(f"document.querySelectorAll('.review-card').length === {errors}")
    assert page.locator(f".review-card[data-item-id='{wrong_id}'] .ml-suggestion").count() == 1

    # A reviewer sees ML assist's state, but not the project's jobs (those are for managers).
    _reviewer(db, made.project_id, "rita")
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        other = context.new_page()
        sign_in(other, live_server, "rita")
        other.goto(f"{live_server}/projects/{made.project_id}")
        other.locator("#ml-panel").wait_for()
        other.locator("#ml-model", has_text="v1, trained on 60 labels").wait_for()
        assert other.locator("#ml-jobs-box").is_hidden() and other.locator("#ml-error").inner_text() == ""
        assert other.locator("#ml-settings-link").is_hidden()  # the details page is for managers
    finally:
        context.close()


def test_the_details_page_saves_ml_settings_and_starts_training(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    topics = _topics(client, db, settings, 45)
    made = topics.made
    url = f"/api/projects/{made.project_id}/ml"
    sign_in(page, live_server, "topics-admin")
    page.goto(f"{live_server}/projects/{made.project_id}/details")
    page.locator("#ml-body").wait_for()
    assert page.locator("#ml-summary").inner_text() == (
        "Now: the first training starts at 30 labels with at least 3 in each of two classes."
    )
    assert page.get_by_label("ML assist on").is_checked()
    assert page.get_by_label("Target precision (%)").input_value() == "90"
    assert page.get_by_label("Clustering").is_disabled()  # pages of similar images: image projects
    assert page.locator("#ml-models tbody").inner_text() == "no model yet"

    page.get_by_role("button", name="Start training now").click()  # no labels yet: refused, and why
    page.locator("#train-message.refused").wait_for()
    assert (
        page.locator("#train-message")
        .inner_text()
        .startswith("no training: a model needs at least 2 labels in each of two classes")
    )

    page.get_by_label("Target precision (%)").fill("97.5")
    page.get_by_label("Retrain every (new labels)").fill("25")
    page.get_by_label("Active learning").uncheck()
    page.get_by_role("button", name="Save ML settings").click()
    page.locator("#ml-form .form-message", has_text="Saved: ML assist is on").wait_for()
    saved = ok(client.get(url, headers=made.admin))["settings"]
    assert (saved["target_precision"], saved["retrain_every"], saved["active_learning"]) == (0.975, 25, False)
    page.reload()
    page.locator("#ml-body").wait_for()
    assert page.get_by_label("Target precision (%)").input_value() == "97.5"
    assert page.get_by_label("Retrain every (new labels)").input_value() == "25"
    assert not page.get_by_label("Active learning").is_checked()

    page.get_by_label("Retrain every (new labels)").fill("40")
    page.get_by_label("Target precision (%)").fill("40")  # 0.4: under the server's 0.5
    page.get_by_role("button", name="Save ML settings").click()
    field = page.locator(".field-message[data-field='target_precision']")
    field.wait_for()
    assert field.inner_text() == "must be between 0.5 and 0.999"
    assert page.get_by_label("Target precision (%)").get_attribute("aria-invalid") == "true"
    assert page.locator("#ml-form .form-message").inner_text() == (
        "Not saved: target_precision: must be between 0.5 and 0.999"
    )
    save_screenshot(page, "ml-details-refused")
    assert ok(client.get(url, headers=made.admin))["settings"]["retrain_every"] == 25  # nothing of it saved

    _label(client, topics, 30)
    page.get_by_role("button", name="Start training now").click()
    page.locator("#train-message", has_text="Model v1 is ready: ").wait_for(timeout=60_000)
    [model] = ok_list(client.get(f"{url}/models", headers=made.admin))
    assert (model["version"], model["status"], model["trained_on"]) == (1, "ready", 30)
    row = page.locator("#ml-models tbody tr[data-version='1']")
    cells = row.locator("td").all_inner_texts()
    assert cells[:3] == ["v1", "ready", "30 labels"]
    assert cells[3] == (f"{model['threshold']:.3f}" if model["threshold"] is not None else "no prelabels")
    assert cells[4] == f"{round(model['metrics']['accuracy'] * 100, 1):g}%"
    jobs = ok(client.get(f"/api/projects/{made.project_id}/jobs", headers=made.admin))["items"]
    assert [job["kind"] for job in jobs[:2]] == ["ml.infer", "ml.train"]
    save_screenshot(page, "ml-details-trained")


def test_the_wizard_turns_ml_assist_off(
    page: Any, live_server: str, client: TestClient, db: Database
) -> None:
    with db.write() as session:
        headers = bearer(make_token(session, make_user(session, "wendy", role=WorkspaceRole.creator)))
    sign_in(page, live_server, "wendy")
    page.goto(f"{live_server}/projects/new")
    page.get_by_label("Project name").fill("Headlines")
    page.get_by_label("Object detection (boxes)").check()
    assert page.locator("#ml-choice").get_attribute("hidden") is not None  # not offered for boxes
    page.get_by_label("Text classification, one class").check()
    assert page.locator("#ml-choice").get_attribute("hidden") is None
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Later").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("One class per row").fill("sport\nmoney")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    switch = page.get_by_label("Use ML assist")
    assert switch.is_visible() and switch.is_checked()  # on by default
    switch.uncheck()
    save_screenshot(page, "ml-wizard-labeling-step")
    page.get_by_role("button", name="Next").click()
    terms = page.locator("#summary dt").all_inner_texts()
    assert page.locator("#summary dd").nth(terms.index("ML assist")).inner_text() == "off"
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("Created, without data.").wait_for()
    with db.read() as session:
        project_id = session.scalars(select(Project.id).where(Project.name == "Headlines")).one()
    status = ok(client.get(f"/api/projects/{project_id}/ml", headers=headers))
    assert status["settings"]["enabled"] is False and status["next_training_in"] is None

    page.goto(f"{live_server}/projects/{project_id}")  # the dashboard says it is off
    page.locator("#ml-panel").wait_for()
    assert page.locator("#ml-state").inner_text() == "off"
    assert page.locator("#ml-summary").inner_text() == "ML assist is off for this project"
    assert page.locator("#ml-next").inner_text() == "off"


def test_the_dashboard_leaves_ml_out_for_boxes(page: Any, live_server: str, db: Database) -> None:
    team = make_team(db, items=3, task_type=TaskType.object_detection, labels=("car",), labelers=1)
    with db.read() as session:
        names = session.scalars(select(User.username).order_by(User.id)).all()
    sign_in(page, live_server, names[-2])  # make_team: owner, labelers, reviewer, manager, outsider
    with page.expect_response(lambda response: response.url.endswith(f"/{team.project_id}/ml")) as asked:
        page.goto(f"{live_server}/projects/{team.project_id}")
    assert asked.value.json()["supported"] is False
    page.locator("#progress-chart g[data-label='unlabeled']").wait_for()
    page.wait_for_function("document.getElementById('updated').textContent !== 'never'")
    assert page.locator("#ml-panel").is_hidden() and page.locator("#ml-error").inner_text() == ""


def test_the_dashboard_says_the_last_ml_job_failed(page: Any, live_server: str, db: Database) -> None:
    team = make_team(db, items=3, labelers=1)
    with db.write() as session:  # as the runner leaves a job that raised: the reason, and the traceback
        session.add(
            Job(
                kind="ml.featurize", project_id=team.project_id, status=JobStatus.failed,
                message="failed: the image backbone needs onnxruntime", error="Traceback (most recent call last): …",
            )
        )  # fmt: skip
        names = session.scalars(select(User.username).order_by(User.id)).all()
    sign_in(page, live_server, names[-2])
    page.goto(f"{live_server}/projects/{team.project_id}")
    page.locator("#ml-panel").wait_for()
    assert (
        page.locator("#ml-summary")
        .inner_text()
        .startswith("The last ML job (ml.featurize) failed: the image backbone needs onnxruntime")
    )
    job = page.locator("#ml-job")
    assert job.inner_text().endswith("ml.featurize, failed — the image backbone needs onnxruntime")
    assert "ml-warn" in (job.get_attribute("class") or "")
    page.locator("#ml-jobs-box").wait_for()
    cells = page.locator("#ml-jobs tbody tr td").all_inner_texts()
    assert cells[1:] == ["failed", "", "failed: the image backbone needs onnxruntime"]  # not the traceback
