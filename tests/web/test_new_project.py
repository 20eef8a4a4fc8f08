"""The create-project wizard in Chromium: a creator names the project, picks a task type, uploads image
files (the progress bar fills), lists label classes, writes Markdown instructions with a preview (a script
in them shows as text), turns consensus on, reviews, creates — and the page follows the data loading
until it is ready. A second run takes its files from a datastore with a glob. Each step refuses to go on
while something is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.accounts.models import WorkspaceRole
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item
from tessera.projects.models import Project
from tests.support.data_api import ok
from tests.support.factories import bearer, make_token, make_user
from tests.support.web import save_screenshot, sign_in

INSTRUCTIONS = "Label **every** animal.\n\n<script>window.hacked = 1</script>"


def _creator(db: Database, username: str) -> dict[str, str]:
    with db.write() as session:
        return bearer(make_token(session, make_user(session, username, role=WorkspaceRole.creator)))


def _next(page: Any) -> None:
    page.get_by_role("button", name="Next").click()


def test_a_creator_makes_a_project_from_uploaded_images(
    page: Any, live_server: str, client: TestClient, db: Database, tmp_path: Path
) -> None:
    headers = _creator(db, "cora")
    paths = []
    for index in range(5):
        path = tmp_path / f"animal{index}.png"
        Image.new("RGB", (64, 48), (40 * index, 90, 120)).save(path)
        paths.append(str(path))
    sign_in(page, live_server, "cora")
    page.get_by_role("link", name="New project").click()
    page.wait_for_url(f"{live_server}/projects/new")

    _next(page)  # no name: refused, and said why
    assert page.locator("#error").inner_text() == "Give the project a name."
    page.get_by_label("Project name").fill("Zoo <b>2026</b>")
    page.get_by_label("Image classification, several classes").check()
    _next(page)
    _next(page)  # no files chosen yet
    assert page.locator("#error").inner_text() == "Choose the files to upload, or pick another source."
    page.get_by_label("Files to upload", exact=True).set_input_files(paths)
    page.get_by_text("5 files,").wait_for()
    _next(page)
    page.get_by_label("One class per row").fill("cat\ndog\n\ncat")
    _next(page)
    assert page.locator("#error").inner_text() == 'The class "cat" is there twice.'
    page.get_by_label("One class per row").fill("cat\ndog\nbird\n")
    _next(page)
    page.get_by_label("Markdown", exact=True).fill(INSTRUCTIONS)
    page.get_by_role("button", name="Preview").click()
    page.locator("#instructions-preview strong").wait_for()
    shown = page.locator("#instructions-preview").inner_text().split("\n")
    assert [line for line in shown if line] == ["Label every animal.", "<script>window.hacked = 1</script>"]
    assert (
        page.locator("#instructions-preview script").count() == 0 and page.evaluate("window.hacked") is None
    )
    _next(page)
    page.get_by_label("Items a labeler sees at once").select_option("9")
    page.get_by_label("Give each item to more than one labeler").check()
    page.get_by_label("Labelers at least").fill("2")
    page.get_by_label("at most").fill("3")
    _next(page)
    summary = dict(
        zip(
            page.locator("#summary dt").all_inner_texts(),
            page.locator("#summary dd").all_inner_texts(),
            strict=True,
        )
    )
    assert summary["Name"] == "Zoo <b>2026</b>" and summary["Label classes"] == "cat, dog, bird"
    assert summary["Data"].startswith("5 files to upload") and summary["Page"] == "9 items at once"
    assert summary["Consensus"] == "2–3 labelers, agreement ≥ 0.66"
    save_screenshot(page, "new-project-review")
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("Ready: 5 files found, 5 items loaded.").wait_for()
    assert page.locator("#progress-bar").evaluate("bar => bar.style.width") == "100%"
    assert page.locator("#progress-text").inner_text() == "Uploading: 5 of 5 files stored · 100%"
    save_screenshot(page, "new-project-created")
    page.get_by_role("link", name="Open the project's dashboard").click()
    page.locator("#project-name").wait_for()

    with db.read() as session:
        project = session.scalars(select(Project).where(Project.name == "Zoo <b>2026</b>")).one()
        items = sorted(session.scalars(select(Item.path).where(Item.project_id == project.id)))
    assert [Path(path).name for path in items] == [f"animal{index}.png" for index in range(5)]
    shown = ok(client.get(f"/api/projects/{project.id}", headers=headers))
    assert (shown["task_type"], [row["name"] for row in shown["label_classes"]]) == (
        "image_classification_multilabel", ["cat", "dog", "bird"],
    )  # fmt: skip
    assert shown["instructions_markdown"] == INSTRUCTIONS
    settings = ok(client.get(f"/api/projects/{project.id}/labeling-settings", headers=headers))
    wanted = {"page_size": 9, "min_labelers": 2, "max_labelers": 3, "agreement_threshold": 0.66}
    assert {name: settings[name] for name in wanted} == wanted


def test_a_project_takes_its_texts_from_a_datastore_glob(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    headers = _creator(db, "dara")
    root = settings.data_dir / "datastores" / "reviews"
    (root / "2026").mkdir(parents=True)
    (root / "old").mkdir()
    for index in range(3):
        (root / "2026" / f"review{index}.txt").write_text(f"review number {index}")
    (root / "old" / "ignored.txt").write_text("not this one")
    store = {"name": "reviews", "kind": "local", "config": {"root": str(root)}}
    ok(client.post("/api/datastores", json=store, headers=headers), 201)
    sign_in(page, live_server, "dara")
    page.goto(f"{live_server}/projects/new")
    page.get_by_label("Project name").fill("Reviews")
    page.get_by_label("Named entities in text").check()
    _next(page)
    page.get_by_label("Files in a datastore").check()
    page.get_by_label("Path globs, one per line").fill("2026/*.txt")
    _next(page)
    page.get_by_label("One class per row").fill("product")
    _next(page)
    page.get_by_label("A link to a page").check()
    page.get_by_label("URL").fill("ftp://example.org/guide")
    _next(page)
    assert page.locator("#error").inner_text() == "The instructions URL must start with http:// or https://."
    page.get_by_label("URL").fill("https://example.org/guide")
    _next(page)
    assert page.get_by_label("Items a labeler sees at once").locator("option").all_inner_texts() == [
        "1 (one item a page)"
    ]
    _next(page)
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("Ready: 3 files found, 3 items loaded.").wait_for()
    save_screenshot(page, "new-project-from-datastore")
    with db.read() as session:
        project = session.scalars(select(Project).where(Project.name == "Reviews")).one()
        texts = sorted(session.scalars(select(Item.text).where(Item.project_id == project.id)))
    assert texts == [f"review number {index}" for index in range(3)]
    assert project.instructions_url == "https://example.org/guide"
