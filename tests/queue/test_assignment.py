"""Managers assign items, or a share of the queue, to named labelers: the assignee gets them first, no
one else gets them, and unassigning gives them back to everyone."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tessera.db.session import Database
from tests.support.labeling import change_settings, claim, classes, make_team, ok, submit


def test_assigned_items_go_to_their_labeler_only(client: TestClient, db: Database) -> None:
    team = make_team(db, items=6)
    change_settings(client, team, page_size=1)
    url = f"/api/projects/{team.project_id}/assignments"
    chosen = team.item_ids[:2]
    body = {"user_id": team.labeler_ids[0], "item_ids": chosen, "count": 1}
    assert ok(client.post(url, json=body, headers=team.manager))["items"] == 3
    assert client.get(url, headers=team.manager).json() == [{"user_id": team.labeler_ids[0], "items": 3}]

    others = set()
    for _ in range(3):  # everything but the three assigned items
        task = claim(client, team, team.labelers[1])
        assert task
        others.add(task["items"][0]["id"])
        ok(submit(client, task, team.labelers[1], {task["items"][0]["id"]: classes("cat")}))
    assert claim(client, team, team.labelers[1]) is None  # the rest is someone else's
    assert not others & set(chosen)
    first = claim(client, team, team.labelers[0])
    assert first and first["items"][0]["id"] not in others

    refused = client.post(url, json={"user_id": 999_999, "count": 1}, headers=team.manager)
    assert refused.status_code == 422
    unknown = client.post(
        url, json={"user_id": team.labeler_ids[0], "item_ids": [999_999]}, headers=team.manager
    )
    assert unknown.status_code == 422 and "999999" in unknown.json()["message"]
    assert client.delete(f"{url}/{team.labeler_ids[0]}", headers=team.manager).status_code == 204
    assert client.get(url, headers=team.manager).json() == []


def test_an_assigned_item_is_never_given_to_another_labeler(client: TestClient, db: Database) -> None:
    team = make_team(db, items=2)
    change_settings(client, team, page_size=1)
    url = f"/api/projects/{team.project_id}/assignments"
    ok(
        client.post(
            url, json={"user_id": team.labeler_ids[0], "item_ids": team.item_ids}, headers=team.manager
        )
    )
    assert claim(client, team, team.labelers[1]) is None
    task = claim(client, team, team.labelers[0])
    assert task and task["items"][0]["id"] in team.item_ids
