"""Label classes changed mid-project: renames keep labels; adding or removing needs the project paused;
a removed class in use needs a start-over; a start-over takes every label back (keeping them in the
history), and the keeping kind offers each item's old label as a pre-filled default."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tessera.db.session import Database
from tessera.labels.models import Annotation, AnnotationStatus
from tests.support.labeling import (
    Team,
    assert_counters_match_a_recount,
    change_settings,
    claim,
    classes,
    item_states,
    make_team,
    ok,
    submit,
)


def _label_all(client: TestClient, team: Team) -> None:
    names = ["cat", "dog", "cat", "bird"]
    task = claim(client, team, team.labelers[0])
    assert task
    ok(
        submit(
            client,
            task,
            team.labelers[0],
            {item["id"]: classes(names[i]) for i, item in enumerate(task["items"])},
        )
    )


def _classes(client: TestClient, team: Team) -> list[dict[str, Any]]:
    project = ok(client.get(f"/api/projects/{team.project_id}", headers=team.manager))
    return list(project["label_classes"])


def _put(client: TestClient, team: Team, names: list[dict[str, Any]], labels: str = "continue") -> Any:
    body = {"label_classes": names, "labels": labels}
    return client.put(f"/api/projects/{team.project_id}/label-classes", json=body, headers=team.manager)


def _per_class(client: TestClient, team: Team) -> dict[str, int]:
    board = ok(client.get(f"/api/projects/{team.project_id}/dashboard", headers=team.reviewer))
    return {row["name"]: row["items"] for row in board["labels_per_class"]}


def test_renaming_keeps_labels_and_adding_needs_a_pause(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    _label_all(client, team)
    current = _classes(client, team)
    renamed = [
        {"id": label["id"], "name": "kitty" if label["name"] == "cat" else label["name"]} for label in current
    ]
    ok(_put(client, team, renamed))  # a rename needs no pause
    assert _per_class(client, team) == {"kitty": 2, "dog": 1, "bird": 1}
    added = [*renamed, {"name": "fish"}]
    refused = _put(client, team, added)
    assert refused.status_code == 409 and "pause" in refused.json()["message"]
    ok(client.post(f"/api/projects/{team.project_id}/pause", headers=team.manager))
    ok(_put(client, team, added))
    assert _per_class(client, team) == {"kitty": 2, "dog": 1, "bird": 1, "fish": 0}
    assert_counters_match_a_recount(db, team.project_id)


def test_removing_a_class_in_use_needs_a_start_over(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    _label_all(client, team)
    ok(client.post(f"/api/projects/{team.project_id}/pause", headers=team.manager))
    without_bird = [label for label in _classes(client, team) if label["name"] != "bird"]
    refused = _put(client, team, without_bird)
    assert refused.status_code == 422 and "start_over" in refused.json()["message"]
    ok(_put(client, team, without_bird, "start_over"))
    assert set(item_states(db, team.item_ids).values()) == {"unlabeled"}
    with db.read() as session:
        statuses = session.scalars(
            select(Annotation.status).where(Annotation.project_id == team.project_id)
        ).all()
    assert statuses and set(statuses) == {AnnotationStatus.rejected}  # kept in the history
    assert _per_class(client, team) == {"cat": 0, "dog": 0}
    ok(client.post(f"/api/projects/{team.project_id}/resume", headers=team.manager))
    again = claim(client, team, team.labelers[1])
    assert again and len(again["items"]) == 4 and all(item["prelabel"] is None for item in again["items"])
    assert_counters_match_a_recount(db, team.project_id)


def test_a_start_over_can_offer_the_old_labels_as_defaults(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    change_settings(client, team, page_size=1)
    for _ in range(4):
        task = claim(client, team, team.labelers[0])
        assert task
        ok(submit(client, task, team.labelers[0], {task["items"][0]["id"]: classes("dog")}))
    ok(client.post(f"/api/projects/{team.project_id}/pause", headers=team.manager))
    ok(_put(client, team, [*_classes(client, team), {"name": "fish"}], "start_over_keep"))
    ok(client.post(f"/api/projects/{team.project_id}/resume", headers=team.manager))
    offered = claim(client, team, team.labelers[1])
    assert offered and offered["kind"] == "prelabeled" and offered["items"][0]["prelabel"] == classes("dog")
    ok(submit(client, offered, team.labelers[1], {offered["items"][0]["id"]: classes("fish")}))
    with db.read() as session:
        active = session.scalar(
            select(func.count()).where(
                Annotation.project_id == team.project_id, Annotation.status == "active"
            )
        )
    assert active == 1
    assert _per_class(client, team)["fish"] == 1
    kept = claim(client, team, team.labelers[1])
    assert kept and kept["items"][0]["prelabel"] == classes("dog")
    ok(submit(client, kept, team.labelers[1], {kept["items"][0]["id"]: classes("dog")}))
    review = f"/api/projects/{team.project_id}/review/items?prelabel="
    corrected = ok(client.get(review + "corrected", headers=team.reviewer))["items"]
    accepted = ok(client.get(review + "accepted", headers=team.reviewer))["items"]
    assert [item["id"] for item in corrected] == [offered["items"][0]["id"]]
    assert [item["id"] for item in accepted] == [kept["items"][0]["id"]]
    assert accepted[0]["prelabel_outcome"] == "accepted"
    assert_counters_match_a_recount(db, team.project_id)
