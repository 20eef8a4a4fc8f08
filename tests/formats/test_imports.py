"""Imports through the API, into projects made from real files: labels imported as final (labeled by the
`imported` system user, counters right, history kept) or as prelabels (a labeler's next task offers them),
references matched by path, URL and file name with the rest reported, missing classes added or refused,
and malformed files refused whole — every problem listed, nothing changed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tessera.accounts.models import User
from tessera.core.errors import Invalid
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item
from tessera.labels.models import Annotation, LabelEvent, Prelabel, PrelabelSource
from tessera.labels.validation import render_label
from tessera.projects.models import LabelClass, Project
from tessera.review.models import ItemLabel
from tests.support.data_api import ok
from tests.support.exports import LabeledProject, labeled_project
from tests.support.factories import make_user
from tests.support.labeling import assert_counters_match_a_recount

IMAGES: dict[str, tuple[int, int] | str] = {"a.png": (40, 30), "b.png": (40, 30), "sub/c.png": (20, 10)}
TEXTS: dict[str, tuple[int, int] | str] = {"one.txt": "Ana flew to Tokyo.", "two.txt": "Bob stayed home."}


def post_import(
    client: TestClient, made: LabeledProject, data: bytes, fmt: str, mode: str = "final", **params: str
) -> Any:
    query = {"format": fmt, "mode": mode, **params}
    files = {"file": (f"labels.{fmt}", data, "application/octet-stream")}
    return client.post(
        f"/api/projects/{made.project_id}/imports", params=query, files=files, headers=made.admin
    )


def labels_by_path(db: Database, project_id: int) -> dict[str, dict[str, Any]]:
    """Each labeled item's label that counts, as the API shows labels (class names)."""
    with db.read() as session:
        project = session.get_one(Project, project_id)
        names = {label_class.id: label_class.name for label_class in project.label_classes}
        rows = session.execute(
            select(Item.path, ItemLabel.payload)
            .join(ItemLabel, ItemLabel.item_id == Item.id)
            .where(Item.project_id == project_id)
        ).all()
        return {path: render_label(payload, names) for path, payload in rows}


def footprint(db: Database, project_id: int) -> dict[str, Any]:
    """Everything an import could change in the project."""
    with db.read() as session:

        def count(model: Any) -> int:
            return int(session.scalar(select(func.count()).where(model.project_id == project_id)) or 0)

        items = session.execute(
            select(Item.id, Item.state, Item.version, Item.prelabeled, Item.label_count)
            .where(Item.project_id == project_id)
            .order_by(Item.id)
        ).all()
        classes = session.scalars(
            select(LabelClass.name).where(LabelClass.project_id == project_id).order_by(LabelClass.position)
        ).all()
        return {
            "annotations": count(Annotation), "prelabels": count(Prelabel), "events": count(LabelEvent),
            "labels": count(ItemLabel), "classes": list(classes), "items": [tuple(row) for row in items],
            "users": int(session.scalar(select(func.count()).select_from(User)) or 0),
        }  # fmt: skip


def coco(images: list[dict[str, Any]], annotations: list[dict[str, Any]], **more: Any) -> bytes:
    categories = [{"id": 7, "name": "cat"}, {"id": 8, "name": "Dog"}]
    body = {"images": images, "categories": categories, "annotations": annotations, **more}
    return json.dumps(body).encode()


def test_coco_boxes_imported_as_final_labels_count_as_labeled_by_the_imported_user(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["cat", "dog"], files=IMAGES, labels={},
    )  # fmt: skip
    data = coco(
        [{"id": 1, "file_name": "a.png", "width": 40, "height": 30}, {"id": 2, "file_name": "c.png"},
         {"id": 3, "file_name": "nowhere/missing.png"}, {"id": 4, "file_name": "b.png"}],
        [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 6, 20, 12], "area": 240},
         {"id": 2, "image_id": 1, "category_id": 8, "bbox": [1, 0, 3, 30]},
         {"id": 3, "image_id": 2, "category_id": 8, "bbox": [1, 1, 10, 3]},
         {"id": 4, "image_id": 3, "category_id": 7, "bbox": [0, 0, 5, 5]}],
    )  # fmt: skip
    report = ok(post_import(client, made, data, "coco"))
    assert report == {
        "format": "coco", "mode": "final", "records": 3, "matched": 2, "imported": 2,
        "skipped_already_labeled": 0, "skipped_out_of_queue": 0, "without_label": 1, "replaced_prelabels": 0,
        "unmatched": ["nowhere/missing.png"], "ambiguous": [], "classes_added": [],
    }  # fmt: skip
    assert labels_by_path(db, made.project_id) == {
        "a.png": {"boxes": [{"class": "cat", "x": 10, "y": 6, "width": 20, "height": 12},
                            {"class": "dog", "x": 1, "y": 0, "width": 3, "height": 30}]},
        "sub/c.png": {"boxes": [{"class": "dog", "x": 1, "y": 1, "width": 10, "height": 3}]},
    }  # fmt: skip
    assert_counters_match_a_recount(db, made.project_id)
    dashboard = ok(client.get(f"/api/projects/{made.project_id}/dashboard", headers=made.admin))
    assert dashboard["items"]["labeled"] == 2 and dashboard["items"]["unlabeled"] == 1
    assert {entry["name"]: entry["items"] for entry in dashboard["labels_per_class"]} == {"cat": 1, "dog": 2}
    assert dashboard["labelers"] == []  # an import is nobody's labeling work
    with db.read() as session:
        history = session.execute(
            select(Item.path, LabelEvent.action, User.username, User.is_active, User.password_hash)
            .join(Item, Item.id == LabelEvent.item_id)
            .join(User, User.id == LabelEvent.user_id)
            .where(LabelEvent.project_id == made.project_id)
            .order_by(Item.path)
        ).all()
    assert [tuple(row) for row in history] == [
        ("a.png", "import", "imported", False, None), ("sub/c.png", "import", "imported", False, None),
    ]  # fmt: skip
    review = ok(client.get(f"/api/items/{made.item_ids['a.png']}/review", headers=made.admin))
    assert review["state"] == "labeled" and review["label_source"] == "single"
    assert len(review["annotations"]) == 1
    signed_in = client.post("/api/auth/sign-in", json={"username": "imported", "password": ""})
    assert signed_in.status_code in (401, 422)  # nobody can sign in as the system user


def test_items_already_labeled_are_skipped_and_reported(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"], files=IMAGES,
        labels={"a.png": {"classes": ["dog"]}},
    )  # fmt: skip
    data = b"path,label\na.png,cat\nb.png,cat\nsub/c.png,\n"
    for mode, already in (("final", 1), ("prelabels", 2)):  # the second finds b.png labeled by the first
        report = ok(post_import(client, made, data, "csv", mode=mode))
        assert (report["matched"], report["imported"], report["skipped_already_labeled"]) == (
            2,
            2 - already,
            already,
        )
        assert report["without_label"] == 1
    assert labels_by_path(db, made.project_id) == {
        "a.png": {"classes": ["dog"]},
        "b.png": {"classes": ["cat"]},
    }
    with db.read() as session:  # b.png was labeled by the first import: the prelabels import left it alone
        assert session.scalar(select(func.count()).select_from(Prelabel)) == 0
    assert_counters_match_a_recount(db, made.project_id)


def test_prelabels_become_a_labelers_next_task_to_confirm_or_correct(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="text_classification_multiclass", classes=["positive", "negative"],
        files={"one.txt": "I love it", "two.txt": "Awful", "three.txt": "Meh"}, labels={},
    )  # fmt: skip
    data = b"path,label,confidence\none.txt,positive,0.9\ntwo.txt,Negative,\n"
    report = ok(post_import(client, made, data, "csv", mode="prelabels"))
    assert (report["mode"], report["imported"], report["replaced_prelabels"]) == ("prelabels", 2, 0)
    with db.read() as session:
        offered = session.execute(
            select(
                Item.path, Prelabel.payload, Prelabel.source, Prelabel.confidence, Item.prelabeled, Item.state
            )
            .join(Item, Item.id == Prelabel.item_id)
            .order_by(Item.path)
        ).all()
        names = {label_class.id: label_class.name for label_class in session.scalars(select(LabelClass))}
    assert [(path, render_label(payload, names), source, confidence, flag, state) for path, payload, source, confidence, flag, state in offered] == [
        ("one.txt", {"classes": ["positive"]}, PrelabelSource.imported, 0.9, True, "unlabeled"),
        ("two.txt", {"classes": ["negative"]}, PrelabelSource.imported, None, True, "unlabeled"),
    ]  # fmt: skip
    assert labels_by_path(db, made.project_id) == {}
    assert_counters_match_a_recount(db, made.project_id)
    dashboard = ok(client.get(f"/api/projects/{made.project_id}/dashboard", headers=made.admin))
    assert dashboard["queue_by_kind"]["items"]["prelabeled"] == 2

    task = ok(client.post(f"/api/projects/{made.project_id}/tasks/next", json={}, headers=made.labeler))
    [item] = task["items"]
    assert task["kind"] == "prelabeled" and item["path"] in ("one.txt", "two.txt")
    assert item["prelabel"] == {"classes": ["positive" if item["path"] == "one.txt" else "negative"]}
    submission = {"labels": [{"item_id": item["id"], "label": item["prelabel"]}]}
    ok(client.post(f"/api/tasks/{task['id']}/submit", json=submission, headers=made.labeler))
    review = ok(client.get(f"/api/items/{item['id']}/review", headers=made.admin))
    assert (review["state"], review["prelabel_outcome"]) == ("labeled", "accepted")
    assert_counters_match_a_recount(db, made.project_id)

    again = ok(
        post_import(
            client, made, b"path,label\none.txt,negative\ntwo.txt,positive\n", "csv", mode="prelabels"
        )
    )
    assert (again["imported"], again["skipped_already_labeled"], again["replaced_prelabels"]) == (1, 1, 1)


def test_references_match_by_path_url_and_unique_file_name_and_the_rest_is_reported(
    client: TestClient, db: Database, settings: Settings
) -> None:
    files: dict[str, tuple[int, int] | str] = {
        "x/a.png": (8, 8),
        "y/a.png": (8, 8),
        "b.png": (8, 8),
        "z/c.png": (8, 8),
        "d.png": (8, 8),
    }
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat"], files=files, labels={},
    )  # fmt: skip
    rows = [
        "a.png",  # two items have this file name: ambiguous
        "x/a.png",  # the exact path
        "file:///somewhere/else/y/a.png",  # a URL ending with an item's path
        (made.root / "b.png").as_uri(),  # the item's own URL
        "c.png",  # the one item with this file name
        "/mnt/share/d.png",  # an absolute path ending with the item's path
        "nothing.png",
    ]
    data = ("path,label\n" + "".join(f"{row},cat\n" for row in rows)).encode()
    report = ok(post_import(client, made, data, "csv"))
    assert (report["matched"], report["imported"]) == (5, 5)
    assert (report["ambiguous"], report["unmatched"]) == (["a.png"], ["nothing.png"])
    assert sorted(labels_by_path(db, made.project_id)) == ["b.png", "d.png", "x/a.png", "y/a.png", "z/c.png"]

    twice = ok(post_import(client, made, b"path,label\nx/a.png,cat\n", "csv"))
    assert twice["skipped_already_labeled"] == 1
    duplicate = post_import(client, made, b"path,label\nz/c.png,cat\nc.png,cat\n", "csv", mode="prelabels")
    assert duplicate.status_code == 422
    assert duplicate.json()["details"]["problems"] == [
        {"record": 3, "field": None, "reason": "names the same item as record 2"}
    ]


def test_missing_classes_are_refused_where_used_or_added(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"], files=IMAGES,
        labels={},
    )  # fmt: skip
    data = b"path,label\na.png,cat\nb.png,bird\nsub/c.png,Bird\n"
    before = footprint(db, made.project_id)
    refused = post_import(client, made, data, "csv")
    assert refused.status_code == 422
    body = refused.json()
    assert body["message"] == (
        "the file was not imported: 2 problems; nothing was changed. Classes not in the project: 'bird' "
        "(import with missing_classes=add to add them)"
    )
    assert body["details"] == {
        "problems": [
            {"record": 3, "field": "label.classes.0", "reason": "label class 'bird' is not in this project"},
            {"record": 4, "field": "label.classes.0", "reason": "label class 'Bird' is not in this project"},
        ],
        "problems_total": 2,
    }
    assert footprint(db, made.project_id) == before

    report = ok(post_import(client, made, data, "csv", missing_classes="add"))
    assert (report["imported"], report["classes_added"]) == (3, ["bird"])
    classes = ok(client.get(f"/api/projects/{made.project_id}", headers=made.admin))["label_classes"]
    assert [label_class["name"] for label_class in classes] == ["cat", "dog", "bird"]
    assert labels_by_path(db, made.project_id) == {
        "a.png": {"classes": ["cat"]}, "b.png": {"classes": ["bird"]}, "sub/c.png": {"classes": ["bird"]},
    }  # fmt: skip
    assert_counters_match_a_recount(db, made.project_id)


def test_adding_classes_once_labeling_started_needs_the_project_paused(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multilabel", classes=["cat", "dog"], files=IMAGES,
        labels={"a.png": {"classes": ["cat"]}},
    )  # fmt: skip
    data = b'path,labels\nb.png,"[""dog"", ""bird""]"\nsub/c.png,cat; fish\n'
    before = footprint(db, made.project_id)
    refused = post_import(client, made, data, "csv", missing_classes="add")
    assert refused.status_code == 409
    assert "pause the project before adding or removing label classes" in refused.json()["message"]
    assert footprint(db, made.project_id) == before
    ok(client.post(f"/api/projects/{made.project_id}/pause", headers=made.admin))
    report = ok(post_import(client, made, data, "csv", missing_classes="add"))
    assert report["classes_added"] == ["bird", "fish"]
    assert labels_by_path(db, made.project_id) == {
        "a.png": {"classes": ["cat"]}, "b.png": {"classes": ["dog", "bird"]},
        "sub/c.png": {"classes": ["cat", "fish"]},
    }  # fmt: skip
    assert_counters_match_a_recount(db, made.project_id)


MALFORMED: dict[str, tuple[str, str, bytes, list[dict[str, Any]]]] = {
    "bad JSON": (
        "object_detection", "coco", b'{"images": [\n  {"id": 1 "file_name": "a.png"}\n]}',
        [{"record": None, "field": None, "reason": "is not valid JSON: Expecting ',' delimiter (line 2 column 12)"}],
    ),
    "a box outside the image": (
        "object_detection", "coco",
        coco([{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
             [{"id": 1, "image_id": 2, "category_id": 7, "bbox": [1, 1, 5, 5]},
              {"id": 2, "image_id": 1, "category_id": 7, "bbox": [30, 0, 15, 10]}]),
        [{"record": 2, "field": "annotations.bbox", "reason": "makes the box end at 45, outside the image (40 px wide)"}],
    ),
    "an unknown image id and category": (
        "object_detection", "coco",
        coco([{"id": 1, "file_name": "a.png"}],
             [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 1, 5, 5]},
              {"id": 2, "image_id": 99, "category_id": 7, "bbox": [1, 1, 5, 5]},
              {"id": 3, "image_id": 1, "category_id": 3, "bbox": [1, 1, 5, 5]},
              {"id": 4, "image_id": 1, "category_id": 8, "bbox": [1, 1, 5]}]),
        [{"record": 2, "field": "annotations.image_id", "reason": "image 99 is not in images"},
         {"record": 3, "field": "annotations.category_id", "reason": "category 3 is not in categories"},
         {"record": 4, "field": "annotations.bbox", "reason": "must be [x, y, width, height] (got 3 numbers)"}],
    ),
    "overlapping spans": (
        "text_ner", "jsonl",
        b'{"path": "two.txt", "label": {"spans": [{"start": 0, "end": 3, "class": "PER"}]}}\n'
        b'{"path": "one.txt", "label": {"spans": [{"start": 0, "end": 5, "class": "PER"}, '
        b'{"start": 3, "end": 9, "class": "LOC"}]}}\n'
        b"not json\n",
        [{"record": 2, "field": "label.spans.1", "reason": "overlaps label.spans.0 (0–5); spans must not overlap"},
         {"record": 3, "field": None, "reason": "is not valid JSON: Expecting value (column 1)"}],
    ),
    "CoNLL tokens not in the text and a bad tag": (
        "text_ner", "conll",
        b"# path = one.txt\nAna\tB-PER\nwalked\tO\n\n# path = two.txt\nBob\tX-PER\n",
        [{"record": 3, "field": "token", "reason": "'walked' does not come next in the item's text"},
         {"record": 6, "field": "tag", "reason": "is not a BIO tag: 'X-PER' (O, B-<class> or I-<class>)"}],
    ),
    "a rotated Label Studio box": (
        "object_detection", "label_studio",
        json.dumps([{"data": {"image": "/data/local-files/?d=a.png"}, "annotations": [{"result": [
            {"type": "rectanglelabels", "original_width": 40, "original_height": 30,
             "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 30, "rectanglelabels": ["cat"]}}]}]}]).encode(),
        [{"record": 1, "field": "annotations.0.result.0.value.rotation", "reason": "is a rotated box; only unrotated boxes can be imported"}],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_is_refused_whole_with_every_problem_and_nothing_changes(
    client: TestClient, db: Database, settings: Settings, case: str
) -> None:
    task_type, fmt, data, problems = MALFORMED[case]
    text = task_type.startswith("text_")
    made = labeled_project(
        client, db, settings, task_type=task_type, classes=["PER", "LOC"] if text else ["cat", "dog"],
        files=TEXTS if text else IMAGES, labels={"two.txt" if text else "b.png": None},
    )  # fmt: skip
    before = footprint(db, made.project_id)
    for mode in ("final", "prelabels"):
        refused = post_import(client, made, data, fmt, mode=mode, missing_classes="add")
        assert refused.status_code == 422, refused.text
        assert refused.json()["details"]["problems"] == problems
        assert refused.json()["message"].startswith("the file was not imported")
        assert footprint(db, made.project_id) == before


def test_wrong_formats_big_files_and_empty_bodies_are_refused(
    client: TestClient, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat"], files={"a.png": (8, 8)},
        labels={}, name="Refusals",
    )  # fmt: skip
    wrong = post_import(client, made, b"", "conll")
    assert wrong.status_code == 422
    assert wrong.json()["message"] == (
        "format: 'conll' is not an import format for image_classification_multiclass; "
        "choose one of coco, mltable, csv, jsonl, label_studio"
    )
    unknown_mode = post_import(client, made, b"path,label\n", "csv", mode="maybe")
    assert unknown_mode.status_code == 422 and "mode" in unknown_mode.json()["message"]
    no_file = client.post(
        f"/api/projects/{made.project_id}/imports", params={"format": "csv", "mode": "final"},
        content=b"--edge--\r\n", headers={**made.admin, "Content-Type": "multipart/form-data; boundary=edge"},
    )  # fmt: skip
    assert no_file.status_code == 422 and "send the file to import" in no_file.json()["message"]
    monkeypatch.setattr("tessera.api.routers.imports.MAX_IMPORT_BYTES", 100)
    big = post_import(client, made, b"path,label\n" + b"a.png,cat\n" * 20, "csv")
    assert big.status_code == 413 and big.json()["details"]["limit_bytes"] == 100


def test_a_person_named_imported_keeps_the_name_and_final_imports_are_refused(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat"], files=IMAGES, labels={},
    )  # fmt: skip
    with db.write() as session:  # an account from before the name was reserved (create_user refuses it now)
        session.add(User(username="imported", display_name="A person", password_hash=None))
        with pytest.raises(Invalid, match="'imported' is reserved for the system"):
            make_user(session, "imported")
    before = footprint(db, made.project_id)
    refused = post_import(client, made, b"path,label\na.png,cat\n", "csv")
    assert refused.status_code == 409 and "belongs to a person's account" in refused.json()["message"]
    assert footprint(db, made.project_id) == before
    assert ok(post_import(client, made, b"path,label\na.png,cat\n", "csv", mode="prelabels"))["imported"] == 1
