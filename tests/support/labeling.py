"""A labeling team for the workflow tests: a project with items already in the queue, its labelers and
reviewer with API headers, and short calls for the routes they use."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.db.session import Database
from tessera.items.counts import add_counts, read_counts, recount_items
from tessera.items.models import Item, ItemOrder, ItemState
from tessera.projects.models import TaskType
from tests.support.factories import bearer, make_project, make_token, make_user

Headers = dict[str, str]


@dataclass
class Team:
    project_id: int
    item_ids: list[int]
    labelers: list[Headers]
    labeler_ids: list[int]
    reviewer: Headers
    manager: Headers
    outsider: Headers


def make_team(
    db: Database,
    *,
    items: int = 12,
    task_type: TaskType = TaskType.image_classification_multiclass,
    labels: tuple[str, ...] = ("cat", "dog", "bird"),
    labelers: int = 3,
    width: int | None = 640,
    height: int | None = 480,
    texts: list[str] | None = None,
) -> Team:
    generator = random.Random(5)
    with db.write() as session:
        owner = make_user(session, role=WorkspaceRole.creator)
        crew = [make_user(session) for _ in range(labelers)]
        reviewer, manager, outsider = make_user(session), make_user(session), make_user(session)
        members = dict.fromkeys(crew, ProjectRole.labeler) | {
            reviewer: ProjectRole.reviewer,
            manager: ProjectRole.manager,
        }
        project = make_project(session, owner, task_type=task_type, labels=labels, members=members)
        rows = [
            Item(
                project_id=project.id, path=f"item{index:04d}.jpg", rank=generator.getrandbits(31),
                width=width, height=height, text=texts[index] if texts else None,
            )
            for index in range(items)
        ]  # fmt: skip
        session.add_all(rows)
        session.flush()
        session.add_all(ItemOrder(project_id=project.id, rank=row.rank, item_id=row.id) for row in rows)
        add_counts(session, project.id, {ItemState.unlabeled.value: items})
        return Team(
            project_id=project.id,
            item_ids=[row.id for row in rows],
            labelers=[bearer(make_token(session, user)) for user in crew],
            labeler_ids=[user.id for user in crew],
            reviewer=bearer(make_token(session, reviewer)),
            manager=bearer(make_token(session, manager)),
            outsider=bearer(make_token(session, outsider)),
        )


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def claim(client: TestClient, team: Team, who: Headers, **body: Any) -> dict[str, Any] | None:
    response = client.post(f"/api/projects/{team.project_id}/tasks/next", json=body, headers=who)
    if response.status_code == 204:
        return None
    return ok(response)


def submit(
    client: TestClient, task: dict[str, Any], who: Headers, labels: dict[int, Any], **extra: Any
) -> Any:
    body = {"labels": [{"item_id": item_id, "label": label} for item_id, label in labels.items()], **extra}
    return client.post(f"/api/tasks/{task['id']}/submit", json=body, headers=who)


def classes(name: str) -> dict[str, Any]:
    return {"classes": [name]}


def change_settings(client: TestClient, team: Team, **change: Any) -> dict[str, Any]:
    return ok(
        client.put(f"/api/projects/{team.project_id}/labeling-settings", json=change, headers=team.manager)
    )


def assert_counters_match_a_recount(db: Database, project_id: int) -> None:
    with db.read() as session:
        kept = read_counts(session, project_id)
    with db.write() as session:
        counted = recount_items(session, project_id)
    assert {name: kept.get(name, 0) for name in counted} == counted


def item_states(db: Database, item_ids: list[int]) -> dict[int, str]:
    with db.read() as session:
        rows = session.execute(select(Item.id, Item.state).where(Item.id.in_(item_ids)))
        return {item_id: ItemState(state).value for item_id, state in rows}
