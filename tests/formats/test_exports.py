"""Exports through the API: a job writes the file and the API hands it out; options filter the items,
add a seeded train/validation split and the pre-filled labels; bad formats and options are refused with
what to send instead; an export shows the labels as they were when it started."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats.records import ExportOptions, open_source, start_snapshot
from tessera.projects.models import Project
from tessera.review.models import ItemLabel
from tests.support.data_api import ok, ok_list
from tests.support.exports import labeled_project, run_export

FILES: dict[str, tuple[int, int] | str] = {"a.png": (40, 30), "b.png": (40, 30), "sub/c.png": (20, 10)}


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_a_csv_export_holds_the_labels_that_count_and_options_shape_it(
    client: TestClient, db: Database, settings: Settings
) -> None:
    labels = {"a.png": {"classes": ["cat"]}, "sub/c.png": {"classes": ["dog"]}}
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"], files=FILES,
        labels=labels,
    )  # fmt: skip
    export, data = run_export(client, made.admin, made.project_id, "csv")
    rows = _rows(data)
    assert [(row["path"], row["label"], row["label_source"]) for row in rows] == [
        ("a.png", "cat", "single"), ("sub/c.png", "dog", "single"),
    ]  # fmt: skip
    assert rows[1]["url"] == (made.root / "sub" / "c.png").as_uri()
    assert export["items"] == 2 and export["file_name"].endswith("-csv.csv") and export["snapshot_at"]
    assert export["size_bytes"] == len(data)

    _, every = run_export(
        client, made.admin, made.project_id, "csv", {"items": "all", "validation_share": 0.5, "seed": 7}
    )
    rows = _rows(every)
    assert [(row["path"], row["label"]) for row in rows] == [
        ("a.png", "cat"),
        ("b.png", ""),
        ("sub/c.png", "dog"),
    ]
    assert {row["split"] for row in rows} <= {"train", "validation"}
    _, again = run_export(
        client, made.admin, made.project_id, "csv", {"items": "all", "validation_share": 0.5, "seed": 7}
    )
    assert [row["split"] for row in _rows(again)] == [
        row["split"] for row in rows
    ]  # the seed fixes the split

    listed = ok(client.get(f"/api/projects/{made.project_id}/exports", headers=made.admin))["items"]
    assert [entry["id"] for entry in listed] == sorted(entry["id"] for entry in listed) and len(listed) == 3


def test_bad_formats_and_options_are_refused_with_the_choices(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat"], files={"a.png": (8, 8)},
        labels={}, name="Refusals",
    )  # fmt: skip
    url = f"/api/projects/{made.project_id}/exports"
    wrong = client.post(url, json={"format": "conll"}, headers=made.admin)
    assert (
        wrong.status_code == 422
        and "is not an export format for image_classification_multiclass" in wrong.text
    )
    assert "choose one of csv" in wrong.json()["message"]
    unknown = client.post(url, json={"format": "csv", "options": {"colour": 1}}, headers=made.admin)
    assert unknown.status_code == 422 and "unknown export options ['colour']" in unknown.json()["message"]
    share = client.post(url, json={"format": "csv", "options": {"validation_share": 1.5}}, headers=made.admin)
    assert share.status_code == 422 and "options.validation_share" in share.text
    formats = ok_list(client.get(f"/api/projects/{made.project_id}/export-formats", headers=made.admin))
    assert "csv" in [entry["name"] for entry in formats]
    labeler = client.post(url, json={"format": "csv"}, headers=made.labeler)
    assert labeler.status_code == 403


def test_an_export_reads_the_labels_as_they_were_when_it_started(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"],
        files={f"{index}.png": (8, 8) for index in range(3)}, labels={f"{index}.png": {"classes": ["cat"]} for index in range(3)},
        name="Snapshot",
    )  # fmt: skip
    with db.read() as session:
        start_snapshot(session)
        project = session.get_one(Project, made.project_id)
        source = open_source(session, project, ExportOptions())
        records = source.records()
        first = next(records)
        with db.write() as other:  # meanwhile, every label changes and one disappears
            for row in other.scalars(select(ItemLabel).where(ItemLabel.project_id == made.project_id)):
                row.payload = {"class_ids": [project.label_classes[1].id]}
            other.delete(other.scalars(select(ItemLabel).order_by(ItemLabel.item_id.desc())).first())
        rest = list(records)
    assert [record.label for record in [first, *rest]] == [{"classes": ["cat"]}] * 3


def test_item_ids_and_so_exports_follow_paths_whatever_the_listing_order(
    client: TestClient, db: Database, settings: Settings
) -> None:
    names = [f"{letter}.txt" for letter in "fdbeca"]  # created out of order: listings may keep it
    made = labeled_project(
        client, db, settings, task_type="text_classification_multiclass", classes=["x"],
        files={name: f"text {name}" for name in names}, labels={}, name="Ordered",
    )  # fmt: skip
    by_id = sorted(made.item_ids, key=made.item_ids.__getitem__)
    assert by_id == sorted(names)
    _, data = run_export(client, made.admin, made.project_id, "csv", {"items": "all"})
    assert [row["path"] for row in _rows(data)] == sorted(names)
