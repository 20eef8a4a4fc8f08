"""The labeling workflow through the API: pages under a lease, submit and skip, going back, expired
leases, paused projects, idempotent retries, consensus with escalation to review, and reviewers' decisions
checked against the item's version. After each flow the maintained counters equal a recount."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tessera.core import clock
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.labels.models import Annotation
from tessera.projects.models import TaskType
from tessera.queue.models import Task
from tessera.worker.scheduler import run_scheduler_once
from tests.support.labeling import (
    assert_counters_match_a_recount,
    change_settings,
    claim,
    classes,
    item_states,
    make_team,
    ok,
    submit,
)


def test_labelers_get_distinct_pages_and_the_same_task_again(client: TestClient, db: Database) -> None:
    team = make_team(db, items=10)
    first = claim(client, team, team.labelers[0])
    second = claim(client, team, team.labelers[1])
    assert first and second and len(first["items"]) == 4 and len(second["items"]) == 4  # a 2x2 grid
    mine = {item["id"] for item in first["items"]}
    assert not mine & {item["id"] for item in second["items"]}
    again = claim(client, team, team.labelers[0])
    assert again and again["id"] == first["id"]  # the open task, its lease renewed
    third = claim(client, team, team.labelers[2])
    assert third and len(third["items"]) == 2  # what is left
    assert claim(client, team, team.labelers[2]) is not None  # still its own task
    assert_counters_match_a_recount(db, team.project_id)


def test_submitting_labels_the_items_and_the_dashboard_counts_them(client: TestClient, db: Database) -> None:
    team = make_team(db, items=6)
    task = claim(client, team, team.labelers[0])
    assert task
    ids = [item["id"] for item in task["items"]]
    done = ok(submit(client, task, team.labelers[0], {ids[0]: classes("cat"), ids[1]: classes("DOG")}))
    assert done["status"] == "open"  # two items still waiting
    assert [item["label"] for item in done["items"][:2]] == [classes("cat"), classes("dog")]
    ok(client.post(f"/api/tasks/{task['id']}/skip", json={"item_id": ids[2]}, headers=team.labelers[0]))
    finished = ok(submit(client, task, team.labelers[0], {ids[3]: classes("cat")}))
    assert finished["status"] == "submitted"
    board = ok(client.get(f"/api/projects/{team.project_id}/dashboard", headers=team.reviewer))
    assert board["items"]["labeled"] == 3 and board["items"]["skipped"] == 1
    assert board["incomplete"] == {
        "total": 2,
        "not_in_a_task": 2,
        "in_a_leased_task": 0,
        "queued_for_more_labels": 0,
    }
    assert {row["name"]: row["items"] for row in board["labels_per_class"]} == {"cat": 2, "dog": 1, "bird": 0}
    assert board["labelers"][0]["labels"] == 3
    assert board["queue_by_kind"]["items"] == {"prelabeled": 0, "clustered": 0, "manual": 2}
    assert sum(hour["labels"] for hour in board["rate_per_hour"]) == 3
    assert_counters_match_a_recount(db, team.project_id)


def test_bad_submissions_are_refused_and_nothing_is_written(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    task = claim(client, team, team.labelers[0])
    assert task
    item = task["items"][0]["id"]
    unknown = submit(client, task, team.labelers[0], {item: classes("zebra")})
    assert unknown.status_code == 422 and "zebra" in unknown.json()["message"]
    two = submit(client, task, team.labelers[0], {item: {"classes": ["cat", "dog"]}})
    assert two.status_code == 422
    stranger = submit(client, task, team.labelers[1], {item: classes("cat")})
    assert stranger.status_code == 403
    outsider = client.post(f"/api/projects/{team.project_id}/tasks/next", json={}, headers=team.outsider)
    assert outsider.status_code == 403
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 0


def test_a_zero_size_box_is_refused_with_a_message(client: TestClient, db: Database) -> None:
    team = make_team(db, items=2, task_type=TaskType.object_detection, labels=("car",))
    task = claim(client, team, team.labelers[0])
    assert task and len(task["items"]) == 1
    item = task["items"][0]["id"]
    box = {"class": "car", "x": 10, "y": 10, "width": 0, "height": 5}
    refused = submit(client, task, team.labelers[0], {item: {"boxes": [box]}})
    assert refused.status_code == 422 and "zero-size box" in refused.json()["message"]
    assert refused.json()["details"]["errors"][0]["field"] == "labels.0.label.boxes.0.width"
    box["width"] = 20
    ok(submit(client, task, team.labelers[0], {item: {"boxes": [box]}}))


def test_an_expired_lease_is_409_and_the_item_is_not_labeled_twice(client: TestClient, db: Database) -> None:
    team = make_team(db, items=1)
    change_settings(client, team, page_size=1)
    task = claim(client, team, team.labelers[0])
    assert task
    with db.write() as session:
        session.execute(update(Task).values(lease_until=clock.now() - timedelta(seconds=1)))
    other = claim(client, team, team.labelers[1])  # the expired task gave its item back
    assert other and other["items"][0]["id"] == task["items"][0]["id"]
    late = submit(client, task, team.labelers[0], {task["items"][0]["id"]: classes("cat")})
    assert late.status_code == 409 and late.json()["message"] == "lease expired"
    ok(submit(client, other, team.labelers[1], {other["items"][0]["id"]: classes("dog")}))
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 1
    assert_counters_match_a_recount(db, team.project_id)


def test_a_paused_project_refuses_claims_and_submissions(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    task = claim(client, team, team.labelers[0])
    assert task
    ok(client.post(f"/api/projects/{team.project_id}/pause", headers=team.manager))
    refused = client.post(f"/api/projects/{team.project_id}/tasks/next", json={}, headers=team.labelers[1])
    assert refused.status_code == 409 and refused.json()["message"] == "project is paused"
    assert submit(client, task, team.labelers[0], {task["items"][0]["id"]: classes("cat")}).status_code == 409
    ok(client.post(f"/api/projects/{team.project_id}/resume", headers=team.manager))
    ok(submit(client, task, team.labelers[0], {task["items"][0]["id"]: classes("cat")}))


def test_a_retried_submission_changes_nothing(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    task = claim(client, team, team.labelers[0])
    assert task
    labels = {item["id"]: classes("bird") for item in task["items"]}
    first = ok(submit(client, task, team.labelers[0], labels, idempotency_key="k-1"))
    again = ok(submit(client, task, team.labelers[0], labels, idempotency_key="k-1"))
    assert again == first and first["status"] == "submitted"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 4
    assert_counters_match_a_recount(db, team.project_id)


def test_a_submission_can_bring_the_next_task_in_the_same_request(client: TestClient, db: Database) -> None:
    team = make_team(db, items=6)
    who = team.labelers[0]
    task = claim(client, team, who)
    assert task and len(task["items"]) == 4
    ids = [item["id"] for item in task["items"]]
    part = ok(submit(client, task, who, {ids[0]: classes("cat")}, next=True))
    assert part["status"] == "open" and part["next_task"]["id"] == task["id"]  # still your open task
    rest = {item_id: classes("dog") for item_id in ids[1:]}
    done = ok(submit(client, task, who, rest, next=True, idempotency_key="rest"))
    following = done["next_task"]
    assert done["status"] == "submitted" and following["id"] != task["id"]
    assert len(following["items"]) == 2 and not {item["id"] for item in following["items"]} & set(ids)
    again = ok(submit(client, task, who, rest, next=True, idempotency_key="rest"))  # a retry
    assert again["next_task"]["id"] == following["id"]  # the task it already claimed, not a third
    last = {item["id"]: classes("bird") for item in following["items"]}
    assert ok(submit(client, following, who, last, next=True))["next_task"] is None  # nothing left
    assert_counters_match_a_recount(db, team.project_id)


def test_a_labeler_changes_a_label_until_it_is_reviewed(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    task = claim(client, team, team.labelers[0])
    assert task
    item = task["items"][0]["id"]
    ok(submit(client, task, team.labelers[0], {item: classes("cat")}))
    listed = client.get(f"/api/projects/{team.project_id}/my-annotations", headers=team.labelers[0])
    assert listed.status_code == 200
    [mine] = listed.json()
    path = task["items"][0]["path"]
    shown = (mine["item_id"], mine["path"], mine["item_state"], mine["label"])
    assert shown == (item, path, "labeled", classes("cat"))
    changed = ok(
        client.put(f"/api/annotations/{mine['id']}", json={"label": classes("dog")}, headers=team.labelers[0])
    )
    assert changed["label"] == classes("dog")
    board = ok(client.get(f"/api/projects/{team.project_id}/dashboard", headers=team.reviewer))
    assert {row["name"]: row["items"] for row in board["labels_per_class"]}["dog"] == 1
    reviewed = ok(client.get(f"/api/items/{item}/review", headers=team.reviewer))
    body = {"action": "set_label", "version": reviewed["version"], "label": classes("bird")}
    ok(client.post(f"/api/items/{item}/review", json=body, headers=team.reviewer))
    late = client.put(
        f"/api/annotations/{mine['id']}", json={"label": classes("cat")}, headers=team.labelers[0]
    )
    assert late.status_code == 409
    assert_counters_match_a_recount(db, team.project_id)


def test_an_items_history_shows_every_change_oldest_first(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    task = claim(client, team, team.labelers[0])
    assert task
    item = task["items"][0]["id"]
    ok(submit(client, task, team.labelers[0], {item: classes("cat")}))
    [mine] = client.get(f"/api/projects/{team.project_id}/my-annotations", headers=team.labelers[0]).json()
    ok(client.put(f"/api/annotations/{mine['id']}", json={"label": classes("dog")}, headers=team.labelers[0]))
    version = ok(client.get(f"/api/items/{item}/review", headers=team.reviewer))["version"]
    body = {"action": "set_label", "version": version, "label": classes("bird")}
    ok(client.post(f"/api/items/{item}/review", json=body, headers=team.reviewer))
    first = ok(client.get(f"/api/items/{item}/history?limit=2", headers=team.reviewer))
    rest = ok(client.get(f"/api/items/{item}/history?cursor={first['next_cursor']}", headers=team.reviewer))
    events = first["items"] + rest["items"]
    labeler, reviewer = team.labeler_ids[0], events[-1]["user_id"]
    assert [(e["action"], e["user_id"], e["before"], e["after"]) for e in events] == [
        ("submit", labeler, None, classes("cat")),
        ("change", labeler, classes("cat"), classes("dog")),
        ("set", reviewer, classes("dog"), classes("bird")),
    ]
    assert reviewer != labeler and rest["next_cursor"] is None and all(e["username"] for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    refused = client.get(f"/api/items/{item}/history", headers=team.labelers[0])
    assert refused.status_code == 403  # labelers see their own labels, not the item's history


def test_consensus_agrees_or_escalates_to_more_labelers_then_review(client: TestClient, db: Database) -> None:
    team = make_team(db, items=2)
    change_settings(client, team, page_size=1, min_labelers=2, max_labelers=3)
    first = claim(client, team, team.labelers[0])
    second = claim(client, team, team.labelers[1])
    assert first and second
    assert first["items"][0]["id"] == second["items"][0]["id"]  # one item, two labelers
    item = first["items"][0]["id"]
    assert claim(client, team, team.labelers[0]) is not None  # still holds its task
    ok(submit(client, first, team.labelers[0], {item: classes("cat")}))
    ok(submit(client, second, team.labelers[1], {item: classes("dog")}))  # disagree: a third labeler
    assert item_states(db, [item])[item] == "unlabeled"
    third = claim(client, team, team.labelers[2])
    assert third and third["items"][0]["id"] == item
    ok(submit(client, third, team.labelers[2], {item: classes("bird")}))  # three ways: review
    assert item_states(db, [item])[item] == "needs_review"
    side_by_side = ok(client.get(f"/api/items/{item}/review", headers=team.reviewer))
    assert sorted(a["label"]["classes"][0] for a in side_by_side["annotations"]) == ["bird", "cat", "dog"]
    assert_counters_match_a_recount(db, team.project_id)

    other = team.item_ids[0] if team.item_ids[0] != item else team.item_ids[1]
    tasks = [claim(client, team, team.labelers[index]) for index in (0, 1)]
    assert all(task and task["items"][0]["id"] == other for task in tasks)
    for index, task in enumerate(tasks):
        assert task
        ok(submit(client, task, team.labelers[index], {other: classes("cat")}))
    agreed = ok(client.get(f"/api/items/{other}/review", headers=team.reviewer))
    assert (agreed["state"], agreed["label"], agreed["label_source"]) == (
        "labeled",
        classes("cat"),
        "consensus",
    )
    assert_counters_match_a_recount(db, team.project_id)

    report = ok(client.get(f"/api/projects/{team.project_id}/agreement", headers=team.reviewer))
    assert (report["items_compared"], report["metric"]) == (2, "krippendorff_alpha")
    assert report["value"] is not None and -1 <= report["value"] < 1  # one item split three ways, one agreed
    by_labeler = {row["user_id"]: row for row in report["labelers"]}
    assert by_labeler[team.labeler_ids[0]]["items"] == 2 and by_labeler[team.labeler_ids[2]]["items"] == 1


def test_review_rejects_accepts_skips_and_refuses_a_stale_version(client: TestClient, db: Database) -> None:
    team = make_team(db, items=4)
    task = claim(client, team, team.labelers[0])
    assert task
    labeled, skipped, removed = (item["id"] for item in task["items"][:3])
    ok(submit(client, task, team.labelers[0], {labeled: classes("cat")}))
    for item in (skipped, removed):
        ok(client.post(f"/api/tasks/{task['id']}/skip", json={"item_id": item}, headers=team.labelers[0]))
    listed = ok(
        client.get(f"/api/projects/{team.project_id}/review/items?state=skipped", headers=team.reviewer)
    )
    assert sorted(item["id"] for item in listed["items"]) == sorted([skipped, removed])

    version = ok(client.get(f"/api/items/{labeled}/review", headers=team.reviewer))["version"]
    ok(
        client.post(
            f"/api/items/{labeled}/review",
            json={"action": "reject", "version": version},
            headers=team.reviewer,
        )
    )
    stale = client.post(
        f"/api/items/{labeled}/review", json={"action": "reject", "version": version}, headers=team.reviewer
    )
    assert stale.status_code == 409 and stale.json()["details"]["state"] == "unlabeled"
    for item, action in ((skipped, "reject"), (removed, "accept_skip")):
        current = ok(client.get(f"/api/items/{item}/review", headers=team.reviewer))["version"]
        ok(
            client.post(
                f"/api/items/{item}/review",
                json={"action": action, "version": current},
                headers=team.reviewer,
            )
        )
    assert item_states(db, [labeled, skipped, removed]) == {
        labeled: "unlabeled",
        skipped: "unlabeled",
        removed: "removed",
    }
    history = ok(client.get(f"/api/items/{labeled}/review", headers=team.reviewer))["annotations"]
    assert [entry["status"] for entry in history] == ["rejected"]  # kept, not deleted
    assert_counters_match_a_recount(db, team.project_id)


def test_the_scheduler_gives_back_the_items_of_expired_tasks(
    client: TestClient, db: Database, settings: Settings
) -> None:
    team = make_team(db, items=4)
    task = claim(client, team, team.labelers[0])
    assert task
    with db.write() as session:
        session.execute(update(Task).values(lease_until=clock.now() - timedelta(seconds=1)))
    outcome = run_scheduler_once(db, settings)
    assert outcome["expired_tasks"] == [task["id"]]
    board = ok(client.get(f"/api/projects/{team.project_id}/dashboard", headers=team.reviewer))
    assert board["incomplete"]["in_a_leased_task"] == 0
    assert_counters_match_a_recount(db, team.project_id)


def test_every_bad_labeling_setting_is_named_at_once_and_nothing_is_changed(
    client: TestClient, db: Database
) -> None:
    team = make_team(db, items=2)
    url = f"/api/projects/{team.project_id}/labeling-settings"
    before = ok(client.get(url, headers=team.manager))
    change = {"page_size": 5, "lease_seconds": 10, "min_labelers": 3, "max_labelers": 2, "iou_threshold": 0}
    response = client.put(url, json=change, headers=team.manager)
    assert response.status_code == 422, response.text
    errors = response.json()["details"]["errors"]
    assert [error["field"] for error in errors] == [
        "page_size",
        "lease_seconds",
        "max_labelers",
        "iou_threshold",
    ]
    assert errors[2]["message"] == "must be between min_labelers (3) and 10"
    assert ok(client.get(url, headers=team.manager)) == before
    one = client.put(url, json={"lease_seconds": 10}, headers=team.manager).json()
    assert one["message"] == "lease_seconds: must be between 60 seconds and a day"
    assert (
        ok(client.put(url, json={"min_labelers": 2, "max_labelers": 3}, headers=team.manager))["max_labelers"]
        == 3
    )
