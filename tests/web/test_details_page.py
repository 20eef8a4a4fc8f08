"""A project's details page in Chromium, as a workspace admin: rename the project; turn the incremental
refresh on and refresh now; change label classes (refused while running once labeling started, then
paused and saved); Markdown instructions with the server's preview; the page size; members' roles.
Every change is read back through the API. Then as a manager (members by username, and what only owners
may grant), as a labeler (told the page is for managers), and a project without data."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.accounts.models import User, WorkspaceRole
from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.data_api import ok
from tests.support.factories import bearer, make_project, make_token, make_user
from tests.support.web import ImageProject, project_from_images, save_screenshot, sign_in

IMAGES = {"red.png": ((64, 48), (220, 30, 30)), "blue.png": ((64, 48), (30, 60, 220))}


def _project(client: TestClient, db: Database, settings: Settings) -> ImageProject:
    body = {"name": "Fruit", "task_type": "image_classification_multiclass", "label_classes": ["apple", "pear"],
            "instructions_markdown": "Old instructions."}  # fmt: skip
    return project_from_images(client, db, settings, images=IMAGES, body=body, labeler="lee")


def _open(page: Any, base: str, project_id: int) -> None:
    sign_in(page, base, "root")
    page.goto(f"{base}/projects/{project_id}/details")
    page.locator("#sections").wait_for()


def _said(page: Any, selector: str, text: str) -> None:
    """Waits for the message next to a form, then checks it is exactly `text`."""
    message = page.locator(selector)
    page.locator(selector, has_text=text).wait_for()
    assert message.inner_text() == text


def _label_one_item(client: TestClient, db: Database, project_id: int) -> None:
    """Labeling starts: the labeler labels one item `apple`."""
    with db.write() as session:
        lee = session.scalars(select(User).where(User.username == "lee")).one()
        headers = bearer(make_token(session, lee))
    task = ok(client.post(f"/api/projects/{project_id}/tasks/next", json={}, headers=headers))
    label = {"item_id": task["items"][0]["id"], "label": {"classes": ["apple"]}}
    ok(client.post(f"/api/tasks/{task['id']}/submit", json={"labels": [label]}, headers=headers))


def test_rename_the_project_schedule_refreshes_and_refresh_now(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    made = _project(client, db, settings)
    project_url = f"/api/projects/{made.project_id}"
    _open(page, live_server, made.project_id)
    assert page.locator("#task-type").inner_text() == "image classification multiclass"
    assert page.locator("#status").inner_text() == "running"
    assert page.locator("#data-state").inner_text() == "ready"
    assert page.locator("#versions tbody tr").count() == 1

    page.get_by_label("Name", exact=True).fill("Fruit <b>sorted</b>")
    page.get_by_role("button", name="Save name").click()
    _said(page, "#name-form .form-message", "Saved")
    assert page.locator("#project-name").inner_text() == "Fruit <b>sorted</b>"  # as text
    assert ok(client.get(project_url, headers=made.admin))["name"] == "Fruit <b>sorted</b>"

    page.get_by_label("Refresh incrementally, every").check()
    page.get_by_label("Refresh interval", exact=True).fill("2")
    page.get_by_label("Refresh interval unit").select_option("3600")
    page.get_by_role("button", name="Save schedule").click()
    _said(page, "#refresh-form .form-message", "Saved: refresh is on")
    data = ok(client.get(f"{project_url}/data", headers=made.admin))
    assert (data["refresh_enabled"], data["refresh_interval_seconds"]) == (True, 7200)

    Image.new("RGB", (64, 48), (30, 180, 60)).save(settings.data_dir / "datastores" / "images" / "green.png")
    page.get_by_role("button", name="Refresh now").click()
    _said(page, "#refresh-job", "Refresh finished: 1 added.")
    assert page.locator("#data-last-refresh").inner_text().endswith(": 1 added")
    version = page.locator("#versions tr[data-version='2'] td")
    assert version.all_inner_texts()[:4] == ["2", "refresh", "1", "0"]
    data = ok(client.get(f"{project_url}/data", headers=made.admin))
    assert (data["last_refresh_added"], data["items_loaded"]) == (1, 3)
    save_screenshot(page, "details-page")


def test_adding_a_class_mid_project_needs_the_project_paused(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    made = _project(client, db, settings)
    project_url = f"/api/projects/{made.project_id}"
    before = ok(client.get(project_url, headers=made.admin))["label_classes"]
    _label_one_item(client, db, made.project_id)
    _open(page, live_server, made.project_id)
    names = page.locator("#class-list input")
    assert [names.nth(index).input_value() for index in range(names.count())] == ["apple", "pear"]

    names.nth(1).fill("pear (green)")
    page.get_by_role("button", name="Add a class").click()
    names.nth(2).fill("plum")
    page.get_by_role("button", name="Save classes").click()
    refusal = "pause the project before adding or removing label classes mid-project"
    _said(page, "#classes-form .form-message", refusal)
    assert ok(client.get(project_url, headers=made.admin))["label_classes"] == before  # nothing applied

    page.locator("#toggle").click()
    _said(page, "#status-message", "Paused: labelers cannot take or submit work.")
    assert page.locator("#status").inner_text() == "paused"
    page.get_by_role("button", name="Save classes").click()
    _said(page, "#classes-form .form-message", "Saved")
    after = ok(client.get(project_url, headers=made.admin))["label_classes"]
    assert [(entry["name"], entry["position"]) for entry in after] == [
        ("apple", 0),
        ("pear (green)", 1),
        ("plum", 2),
    ]
    assert [entry["id"] for entry in after[:2]] == [entry["id"] for entry in before]  # renamed, kept

    page.locator("#class-list li").nth(0).get_by_role("button", name="Remove").click()  # `apple` is in use
    page.get_by_role("button", name="Save classes").click()
    in_use = "labels: class 'apple' is in use: choose start_over or start_over_keep to remove them"
    _said(page, "#classes-form .form-message", in_use)
    page.get_by_label("Start over, keeping labels as defaults").check()
    page.get_by_role("button", name="Save classes and start over").click()
    _said(page, "#classes-form .form-message", "Saved: labeling starts over")
    after = ok(client.get(project_url, headers=made.admin))["label_classes"]
    assert [entry["name"] for entry in after] == ["pear (green)", "plum"]
    save_screenshot(page, "details-classes")


def test_instructions_page_size_and_members(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    made = _project(client, db, settings)
    project_url = f"/api/projects/{made.project_id}"
    with db.write() as session:
        make_user(session, "mia")
    _open(page, live_server, made.project_id)
    assert page.get_by_label("Instructions (Markdown)").input_value() == "Old instructions."

    markdown = "Look for **red** fruit.\n\n<script>window.hacked = 1</script>"
    page.get_by_label("Instructions (Markdown)").fill(markdown)
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview strong").wait_for()
    assert page.locator("#preview strong").inner_text() == "red"
    assert page.locator("#preview script").count() == 0
    assert page.locator("#preview p").all_inner_texts() == [
        "Look for red fruit.",
        "<script>window.hacked = 1</script>",
    ]
    assert page.evaluate("window.hacked") is None
    save_screenshot(page, "details-preview")
    page.get_by_role("button", name="Save instructions").click()
    _said(page, "#instructions-form .form-message", "Saved")
    project = ok(client.get(project_url, headers=made.admin))
    assert (project["instructions_markdown"], project["instructions_url"]) == (markdown, None)

    page.get_by_label("Items a page").select_option("9")
    page.get_by_role("button", name="Save settings").click()
    _said(page, "#settings-form .form-message", "Saved")
    assert ok(client.get(f"{project_url}/labeling-settings", headers=made.admin))["page_size"] == 9

    page.get_by_label("Role of lee").select_option("reviewer")
    _said(page, "#members tr[data-username='lee'] .form-message", "Saved")
    page.get_by_label("Username").fill("mia")
    page.locator("#add-member-form select[name=role]").select_option("labeler")
    page.get_by_role("button", name="Add member").click()
    _said(page, "#add-member-form .form-message", "Saved: mia is a labeler")
    members = ok_list(client.get(f"{project_url}/members", headers=made.admin))
    assert {entry["user"]["username"]: entry["role"] for entry in members} == {
        "root": "owner", "lee": "reviewer", "mia": "labeler",
    }  # fmt: skip
    assert page.locator("#members tbody tr").count() == 3

    page.get_by_label("a link to instructions elsewhere").check()
    page.get_by_label("Instructions URL").fill("https://example.com/guide")
    page.get_by_role("button", name="Save instructions").click()
    _said(page, "#instructions-form .form-message", "Saved")
    project = ok(client.get(project_url, headers=made.admin))
    assert (project["instructions_markdown"], project["instructions_url"]) == (
        None,
        "https://example.com/guide",
    )
    save_screenshot(page, "details-instructions-members")


def test_a_labeler_is_told_the_page_is_for_managers(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    made = _project(client, db, settings)
    sign_in(page, live_server, "lee")
    page.goto(f"{live_server}/projects/{made.project_id}/details")
    denial = f"you need the manager role or higher in project {made.project_id} to see the project's data"
    _said(page, "#error", denial)
    assert page.locator("#sections").is_hidden()


def test_a_manager_adds_members_by_username_and_sees_what_only_owners_may_grant(
    page: Any, live_server: str, client: TestClient, db: Database, settings: Settings
) -> None:
    made = _project(client, db, settings)
    with db.write() as session:
        make_user(session, "mia")
        manager_id = make_user(session, "max").id
    members_url = f"/api/projects/{made.project_id}/members"
    ok(client.put(f"{members_url}/{manager_id}", json={"role": "manager"}, headers=made.admin))
    sign_in(page, live_server, "max")
    page.goto(f"{live_server}/projects/{made.project_id}/details")
    page.locator("#sections").wait_for()

    form = page.locator("#add-member-form")
    page.get_by_label("Username").fill("nobody")
    page.get_by_role("button", name="Add member").click()
    _said(page, "#add-member-form .form-message", "user 'nobody' does not exist")
    page.get_by_label("Username").fill("mia")
    form.locator("select[name=role]").select_option("owner")
    page.get_by_role("button", name="Add member").click()
    only_owners = "managers may grant labeler and reviewer roles; only owners may grant more"
    _said(page, "#add-member-form .form-message", only_owners)
    form.locator("select[name=role]").select_option("reviewer")
    page.get_by_role("button", name="Add member").click()
    _said(page, "#add-member-form .form-message", "Saved: mia is a reviewer")

    page.get_by_label("Role of lee").select_option("manager")
    _said(page, "#members tr[data-username='lee'] .form-message", only_owners)
    assert page.get_by_label("Role of lee").input_value() == "labeler"  # the role it still has
    members = ok_list(client.get(members_url, headers=made.admin))
    assert {entry["user"]["username"]: entry["role"] for entry in members} == {
        "root": "owner", "lee": "labeler", "max": "manager", "mia": "reviewer",
    }  # fmt: skip
    save_screenshot(page, "details-manager")


def test_a_project_without_data_says_so(page: Any, live_server: str, db: Database) -> None:
    with db.write() as session:
        root = make_user(session, "root", role=WorkspaceRole.admin)
        project_id = make_project(session, root, name="Empty", labels=("a",)).id
    _open(page, live_server, project_id)
    assert page.locator("#no-data").inner_text() == "No data yet: the project has no dataset attached."
    assert page.locator("#data-body").is_hidden()
    assert page.locator("#class-list input").first.input_value() == "a"


def ok_list(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return list(response.json())
