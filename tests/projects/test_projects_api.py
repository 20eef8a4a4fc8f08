"""Projects through the API: creation rules, names reserved forever, label classes, instructions,
task type frozen, status, listing by membership with cursor pagination — and nothing half-written."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.db.session import Database
from tessera.items.counts import add_counts
from tessera.projects.models import LabelClass, Project, TaskType
from tests.support.factories import bearer, make_project, make_token, make_user

Headers = dict[str, str]


@pytest.fixture
def creator(db: Database) -> Headers:
    with db.write() as session:
        return bearer(make_token(session, make_user(session, "maker", role=WorkspaceRole.creator)))


def _create(client: TestClient, headers: Headers, **overrides: object):
    body = {"name": "Street signs", "task_type": "object_detection", "label_classes": ["stop", "yield"]}
    body.update(overrides)
    return client.post("/api/projects", json=body, headers=headers)


def _count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("task_type", [task_type.value for task_type in TaskType])
def test_every_task_type_can_be_created(client: TestClient, creator: Headers, task_type: str) -> None:
    response = _create(client, creator, name=f"P {task_type}", task_type=task_type)
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["task_type"] == task_type and project["status"] == "running"
    assert project["media"] == ("text" if task_type.startswith("text_") else "image")
    assert [label["name"] for label in project["label_classes"]] == ["stop", "yield"]


def test_the_creator_becomes_owner_and_sees_it(client: TestClient, creator: Headers) -> None:
    project = _create(client, creator).json()
    members = client.get(f"/api/projects/{project['id']}/members", headers=creator).json()
    assert [(member["user"]["username"], member["role"]) for member in members] == [("maker", "owner")]
    assert [item["id"] for item in client.get("/api/projects", headers=creator).json()["items"]] == [
        project["id"]
    ]


def test_a_duplicate_name_is_409_naming_it(client: TestClient, creator: Headers, db: Database) -> None:
    assert _create(client, creator).status_code == 201
    response = _create(client, creator, name="  street   SIGNS ")
    assert response.status_code == 409
    assert "Street signs" in response.json()["message"]
    assert _count(db, Project) == 1


def test_a_deleted_projects_name_stays_reserved(client: TestClient, creator: Headers) -> None:
    project = _create(client, creator).json()
    assert client.delete(f"/api/projects/{project['id']}", headers=creator).status_code == 204
    assert client.get(f"/api/projects/{project['id']}", headers=creator).status_code == 404
    assert client.get("/api/projects", headers=creator).json()["items"] == []
    response = _create(client, creator)
    assert response.status_code == 409
    assert "reserved" in response.json()["message"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"task_type": "video_tracking"}, "task_type"),
        ({"label_classes": []}, "label_classes"),
        ({"label_classes": ["cat", "  "]}, "label_classes.1"),
        ({"label_classes": ["cat", "dog", " Cat "]}, "label_classes.2"),
        ({"label_classes": ["x" * 101]}, "label_classes.0"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"instructions_url": "javascript:alert(1)"}, "instructions_url"),
        (
            {"instructions_url": "https://example.org/guide", "instructions_markdown": "# also"},
            "instructions_url",
        ),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, creator: Headers, db: Database, overrides: dict[str, object], field: str
) -> None:
    response = _create(client, creator, **overrides)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid"
    assert field in [error["field"] for error in body["details"]["errors"]]
    assert field in body["message"]
    assert _count(db, Project) == 0 and _count(db, LabelClass) == 0


def test_a_thousand_label_classes_are_fine_and_keep_their_order(client: TestClient, creator: Headers) -> None:
    labels = [f"class {index:04d}" for index in range(1500)]
    response = _create(client, creator, label_classes=labels)
    assert response.status_code == 201
    assert [label["name"] for label in response.json()["label_classes"]] == labels


class _Elements(HTMLParser):
    """Every element and attribute of an HTML fragment, as a browser would build them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]


def test_instructions_markdown_is_rendered_without_any_script(client: TestClient, creator: Headers) -> None:
    markdown = (
        "# Guide\n\nLabel **cars**.\n\n<script>alert('x')</script>\n\n"
        "[click](javascript:alert(1)) <img src=x onerror=alert(1)> [ok](https://example.org/a)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    project = _create(client, creator, instructions_markdown=markdown).json()
    html = client.get(f"/api/projects/{project['id']}/instructions", headers=creator).json()["html"]
    elements = _Elements()
    elements.feed(html)
    assert {"h1", "strong", "table", "a"} <= set(elements.tags)
    assert not {"script", "img", "iframe", "style"} & set(elements.tags)
    assert not [name for name, _ in elements.attributes if name.startswith("on")]
    hrefs = [value for name, value in elements.attributes if name == "href"]
    assert hrefs == ["https://example.org/a"]
    assert "&lt;script&gt;" in html  # what was markup is shown as text


def test_instructions_can_be_a_url_and_can_be_edited(client: TestClient, creator: Headers) -> None:
    project = _create(client, creator, instructions_url="https://example.org/guide").json()
    assert project["instructions_url"] == "https://example.org/guide"
    edited = client.patch(
        f"/api/projects/{project['id']}",
        json={"instructions_markdown": "Be *careful*.", "instructions_url": None},
        headers=creator,
    ).json()
    assert edited["instructions_markdown"] == "Be *careful*." and edited["instructions_url"] is None


def test_the_task_type_cannot_change(client: TestClient, creator: Headers) -> None:
    project = _create(client, creator).json()
    same = client.patch(
        f"/api/projects/{project['id']}",
        json={"task_type": "object_detection", "name": "Signs 2"},
        headers=creator,
    )
    assert same.status_code == 200 and same.json()["name"] == "Signs 2"
    changed = client.patch(f"/api/projects/{project['id']}", json={"task_type": "text_ner"}, headers=creator)
    assert changed.status_code == 409 and "task type" in changed.json()["message"]


def test_renaming_into_another_projects_name_is_409(client: TestClient, creator: Headers) -> None:
    _create(client, creator, name="First")
    second = _create(client, creator, name="Second").json()
    response = client.patch(f"/api/projects/{second['id']}", json={"name": "FIRST"}, headers=creator)
    assert response.status_code == 409


def test_label_classes_can_be_renamed_added_reordered_and_removed(
    client: TestClient, creator: Headers
) -> None:
    project = _create(client, creator).json()
    stop, yield_ = project["label_classes"]
    response = client.put(
        f"/api/projects/{project['id']}/label-classes",
        json={"label_classes": [{"id": yield_["id"], "name": "give way"}, {"name": "speed limit"}]},
        headers=creator,
    )
    assert response.status_code == 200
    labels = response.json()["label_classes"]
    assert [(label["name"], label["position"]) for label in labels] == [("give way", 0), ("speed limit", 1)]
    assert labels[0]["id"] == yield_["id"]  # renamed, same class
    assert stop["id"] not in [label["id"] for label in labels]
    duplicate = client.put(
        f"/api/projects/{project['id']}/label-classes",
        json={"label_classes": [{"name": "a"}, {"name": "A"}]},
        headers=creator,
    )
    assert duplicate.status_code == 422 and "label_classes.1" in duplicate.json()["message"]


def test_pause_and_resume(client: TestClient, creator: Headers) -> None:
    project = _create(client, creator).json()
    assert client.post(f"/api/projects/{project['id']}/pause", headers=creator).json()["status"] == "paused"
    assert client.post(f"/api/projects/{project['id']}/resume", headers=creator).json()["status"] == "running"


def test_a_labeler_sees_only_their_projects(client: TestClient, db: Database) -> None:
    with db.write() as session:
        owner = make_user(session, role=WorkspaceRole.creator)
        labeler = make_user(session)
        mine = make_project(session, owner, members={labeler: ProjectRole.labeler})
        make_project(session, owner)
        token = make_token(session, labeler)
    listed = client.get("/api/projects", headers=bearer(token)).json()["items"]
    assert [project["id"] for project in listed] == [mine.id]


def test_lists_page_with_a_cursor(client: TestClient, db: Database) -> None:
    with db.write() as session:
        admin = make_user(session, role=WorkspaceRole.admin)
        ids = [make_project(session, admin).id for _ in range(7)]
        headers = bearer(make_token(session, admin))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        page = client.get(f"/api/projects{query}", headers=headers).json()
        seen += [project["id"] for project in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids and pages == 3
    bad = client.get("/api/projects?cursor=garbage", headers=headers)
    assert bad.status_code == 422 and bad.json()["details"]["errors"][0]["field"] == "cursor"


def test_the_list_gives_your_role_and_each_projects_progress(client: TestClient, db: Database) -> None:
    with db.write() as session:
        owner = make_user(session, role=WorkspaceRole.creator)
        labeler = make_user(session)
        admin = make_user(session, role=WorkspaceRole.admin)
        labeled = make_project(session, owner, members={labeler: ProjectRole.labeler})
        other = make_project(session, owner)
        add_counts(session, labeled.id, {"unlabeled": 5, "labeled": 3, "skipped": 1, "removed": 2})
        tokens = {user: bearer(make_token(session, user)) for user in (owner, labeler, admin)}

    def listed(user: object) -> dict[int, tuple[object, object]]:
        items = client.get("/api/projects", headers=tokens[user]).json()["items"]  # type: ignore[index]
        return {item["id"]: (item["role"], item["progress"]) for item in items}

    empty = {"total": 0, "unlabeled": 0, "labeled": 0, "needs_review": 0, "skipped": 0}
    progress = {"total": 9, "unlabeled": 5, "labeled": 3, "needs_review": 0, "skipped": 1}  # removed: out
    assert listed(labeler) == {labeled.id: ("labeler", progress)}
    assert listed(owner) == {labeled.id: ("owner", progress), other.id: ("owner", empty)}
    assert listed(admin) == {labeled.id: (None, progress), other.id: (None, empty)}  # not a member


def test_task_types_are_listed_with_a_summary(client: TestClient, creator: Headers) -> None:
    types: list[dict[str, str]] = client.get("/api/task-types", headers=creator).json()
    assert len(types) == 8 and all(entry["summary"] for entry in types)


def test_project_names_with_markup_come_back_as_plain_data(client: TestClient, creator: Headers) -> None:
    name = "<script>alert(1)</script> & co"
    created = _create(client, creator, name=name)
    assert created.status_code == 201 and created.json()["name"] == name


def _labels(client: TestClient, headers: Headers, project_id: int, entries: list[dict[str, object]]):
    return client.put(
        f"/api/projects/{project_id}/label-classes", json={"label_classes": entries}, headers=headers
    )


def test_swapping_two_names_keeps_both_classes(client: TestClient, creator: Headers) -> None:
    project = _create(client, creator).json()
    stop, yield_ = project["label_classes"]
    swapped = _labels(
        client,
        creator,
        project["id"],
        [{"id": stop["id"], "name": "yield"}, {"id": yield_["id"], "name": "stop"}],
    )
    assert swapped.status_code == 200, swapped.text
    assert [(label["id"], label["name"]) for label in swapped.json()["label_classes"]] == [
        (stop["id"], "yield"),
        (yield_["id"], "stop"),
    ]


def test_resending_an_existing_name_without_its_id_keeps_that_class(
    client: TestClient, creator: Headers
) -> None:
    project = _create(client, creator).json()
    stop, yield_ = project["label_classes"]
    again = _labels(client, creator, project["id"], [{"name": "Yield"}, {"name": "stop"}, {"name": "merge"}])
    assert again.status_code == 200, again.text
    labels = again.json()["label_classes"]
    assert [label["name"] for label in labels] == ["Yield", "stop", "merge"]
    assert [label["id"] for label in labels[:2]] == [yield_["id"], stop["id"]]


def test_a_class_id_listed_twice_or_foreign_is_422(client: TestClient, creator: Headers) -> None:
    project = _create(client, creator).json()
    stop = project["label_classes"][0]
    twice = _labels(
        client, creator, project["id"], [{"id": stop["id"], "name": "a"}, {"id": stop["id"], "name": "b"}]
    )
    assert twice.status_code == 422
    assert twice.json()["details"]["errors"][0]["field"] == "label_classes.1"
    foreign = _labels(client, creator, project["id"], [{"id": 999_999, "name": "a"}])
    assert foreign.status_code == 422


def test_names_that_grow_when_folded_are_measured_folded(client: TestClient, creator: Headers) -> None:
    ligature = "\ufdfa"  # one character that NFKC folds into eighteen
    assert _create(client, creator, name=ligature * 20).status_code == 422
    assert _create(client, creator, label_classes=[ligature * 10]).status_code == 422
