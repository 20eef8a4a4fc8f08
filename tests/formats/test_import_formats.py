"""Files as other tools write them, imported: COCO masks compressed by pycocotools and polygons drawn into
masks, Azure ML's MLTable JSON Lines (fractions, `image_details`, AmlDatastore URLs), Label Studio tasks
(uploaded files, brush masks encoded by its SDK, predictions as prelabels, offsets of older versions),
CoNLL 2003 files (`-DOCSTART-`, four columns, BIOES tags), CSV matched by text, doccano's JSON Lines."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pycocotools.mask as coco_mask
from fastapi.testclient import TestClient
from label_studio_sdk.converter.brush import mask2rle
from PIL import Image
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.labels.models import Prelabel
from tests.formats.test_imports import IMAGES, labels_by_path, post_import
from tests.support.data_api import ok
from tests.support.exports import labeled_project
from tests.support.labeling import assert_counters_match_a_recount


def _indices(label: dict[str, Any]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    with Image.open(io.BytesIO(base64.b64decode(label["mask_png"]))) as image:
        return np.asarray(image, dtype=np.uint8)


def test_coco_masks_compressed_by_pycocotools_and_polygons_make_one_mask(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="semantic_segmentation", classes=["cat", "dog"], files=IMAGES, labels={},
    )  # fmt: skip
    cat = np.zeros((30, 40), dtype=np.uint8)
    cat[5:15, 4:20] = 1
    rle = coco_mask.encode(np.asfortranarray(cat))
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1,
             "segmentation": {"counts": rle["counts"].decode("ascii"), "size": [30, 40]}},
            {"id": 2, "image_id": 1, "category_id": 2, "iscrowd": 0,
             "segmentation": [[25, 20, 37, 20, 37, 27, 25, 27]]},
        ],
    }  # fmt: skip
    ok(post_import(client, made, json.dumps(data).encode(), "coco"))
    label = labels_by_path(db, made.project_id)["a.png"]
    assert label["classes"] == ["cat", "dog"]
    indices = _indices(label)
    assert np.array_equal(indices == 1, cat == 1)
    assert (indices == 2).sum() == 13 * 8 and indices[20, 25] == indices[27, 37] == 2  # edges included


def test_coco_instance_polygons_and_multi_class_images(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="instance_segmentation", classes=["cat", "dog"], files=IMAGES, labels={},
    )  # fmt: skip
    data = {
        "images": [{"id": "x", "file_name": "images/a.png"}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": "x", "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 7], [20, 20, 30, 20, 30, 28]]}],
    }  # fmt: skip
    ok(post_import(client, made, json.dumps(data).encode(), "coco", mode="prelabels"))
    with db.read() as session:
        [offered] = session.scalars(select(Prelabel)).all()
        assert len(offered.payload["polygons"]) == 2  # one annotation, two polygons

    classes = labeled_project(
        client, db, settings, task_type="image_classification_multiclass", classes=["cat", "dog"], files=IMAGES,
        labels={}, name="Classes",
    )  # fmt: skip
    two = {
        "images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "image_id": 2, "category_id": 2},
                        {"id": 3, "image_id": 1, "category_id": 2}],
    }  # fmt: skip
    refused = post_import(client, classes, json.dumps(two).encode(), "coco")
    assert refused.json()["details"]["problems"] == [
        {"record": 3, "field": "annotations.category_id",
         "reason": "gives image 'a.png' a second class ('dog' after 'cat'); a multi-class project takes one class per image"}
    ]  # fmt: skip


def test_azure_ml_mltable_lines_with_fractions_of_the_image(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["cat", "dog"], files=IMAGES, labels={},
    )  # fmt: skip
    lines = [
        {"image_url": "AmlDatastore://workspaceblobstore/UI/2024/a.png", "image_details": {"format": "png", "width": "40px", "height": "30px"},
         "label": [{"label": "cat", "topX": 0.25, "topY": 0.2, "bottomX": 0.75, "bottomY": 0.6, "isCrowd": False}],
         "label_confidence": [0.8]},
        {"image_url": "azureml://subscriptions/s/datastores/d/paths/UI/sub/c.png",
         "label": [{"label": "dog", "topX": 0.1, "topY": 0.1, "bottomX": 0.5, "bottomY": 0.7}]},
        {"image_url": "AmlDatastore://workspaceblobstore/UI/b.png", "label": None},
    ]  # fmt: skip
    data = "\n".join(json.dumps(line) for line in lines).encode()
    report = ok(post_import(client, made, data, "mltable"))
    assert (report["imported"], report["without_label"]) == (2, 1)
    assert labels_by_path(db, made.project_id) == {
        "a.png": {"boxes": [{"class": "cat", "x": 10, "y": 6, "width": 20, "height": 12}]},
        "sub/c.png": {"boxes": [{"class": "dog", "x": 2, "y": 1, "width": 8, "height": 6}]},  # 20×10, read from the file
    }  # fmt: skip


def test_label_studio_tasks_as_label_studio_writes_them(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="semantic_segmentation", classes=["cat", "dog"], files=IMAGES, labels={},
    )  # fmt: skip
    painted = np.zeros((30, 40), dtype=np.uint8)
    painted[2:9, 3:30] = 255
    tasks = [
        {"id": 11, "data": {"image": "/data/upload/3/1a2b3c4d-a.png"}, "annotations": [
            {"was_cancelled": False, "result": [
                {"type": "brushlabels", "original_width": 40, "original_height": 30, "from_name": "tag", "to_name": "image",
                 "value": {"format": "rle", "rle": mask2rle(painted), "brushlabels": ["dog"]}},
                {"type": "relation", "from_id": "x", "to_id": "y"}]},
            {"was_cancelled": True, "result": []}]},
        {"id": 12, "data": {"image": "/data/upload/3/9f8e7d6c-b.png"}, "annotations": []},
    ]  # fmt: skip
    report = ok(post_import(client, made, json.dumps(tasks).encode(), "label_studio"))
    assert (report["imported"], report["without_label"]) == (1, 1)
    label = labels_by_path(db, made.project_id)["a.png"]
    assert label["classes"] == ["dog"] and np.array_equal(_indices(label) == 1, painted == 255)

    ner = labeled_project(
        client, db, settings, task_type="text_ner", classes=["PER", "LOC"],
        files={"one.txt": "🙂 Ana in Tokyo", "two.txt": "Bob"}, labels={}, name="Entities",
    )  # fmt: skip
    tasks = [
        {"data": {"text": "🙂 Ana in Tokyo"}, "annotations": [{"result": [  # UTF-16 offsets, as older versions wrote
            {"type": "labels", "value": {"start": 3, "end": 6, "text": "Ana", "labels": ["PER"]}},
            {"type": "labels", "value": {"start": 10, "end": 15, "text": "Tokyo", "labels": ["LOC"]}}]}]},
        {"data": {"text": "Bob"}, "predictions": [{"score": 0.4, "result": [
            {"type": "labels", "value": {"start": 0, "end": 3, "labels": ["PER"]}}]}]},
    ]  # fmt: skip
    ok(post_import(client, ner, json.dumps(tasks).encode(), "label_studio", mode="prelabels"))
    with db.read() as session:
        offered = {row.item_id: (row.payload, row.confidence) for row in session.scalars(select(Prelabel))}
    per, loc = (offered[ner.item_ids["one.txt"]][0]["spans"][index] for index in (0, 1))
    assert (per["start"], per["end"], loc["start"], loc["end"]) == (2, 5, 9, 14)
    assert offered[ner.item_ids["two.txt"]][1] == 0.4


def test_conll_2003_files_are_matched_by_their_tokens(
    client: TestClient, db: Database, settings: Settings
) -> None:
    files: dict[str, tuple[int, int] | str] = {
        "one.txt": "EU rejects German call.",
        "two.txt": "Peter Blackburn\nin Org Name",
        "three.txt": "Nothing",
    }
    made = labeled_project(
        client, db, settings, task_type="text_ner", classes=["ORG", "MISC", "PER", "Org Name"], files=files, labels={},
    )  # fmt: skip
    data = (
        b"-DOCSTART- -X- -X- O\n\nEU NNP B-NP S-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP S-MISC\ncall NN I-NP O\n"
        b". . O O\n\n-DOCSTART- -X- -X- O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP E-PER\n\nin IN O O\n"
        b"Org NNP O B-Org_Name\nName NNP O I-Org_Name\n"
    )
    report = ok(post_import(client, made, data, "conll"))
    assert (report["imported"], report["classes_added"]) == (2, [])
    assert labels_by_path(db, made.project_id) == {
        "one.txt": {"spans": [{"start": 0, "end": 2, "class": "ORG"}, {"start": 11, "end": 17, "class": "MISC"}]},
        "two.txt": {"spans": [{"start": 0, "end": 15, "class": "PER"}, {"start": 19, "end": 27, "class": "Org Name"}]},
    }  # fmt: skip
    assert_counters_match_a_recount(db, made.project_id)


def test_csv_matched_by_text_and_doccano_json_lines(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = labeled_project(
        client, db, settings, task_type="text_classification_multilabel", classes=["sport", "news"],
        files={"one.txt": "Goal!", "two.txt": "Rain today"}, labels={},
    )  # fmt: skip
    data = b'content,tags\nGoal!,sport\nRain today,"news; sport"\nSnow,news\n'
    report = ok(post_import(client, made, data, "csv", text_column="content", label_column="tags"))
    assert (report["imported"], report["unmatched"]) == (2, ["text 'Snow'"])
    assert labels_by_path(db, made.project_id) == {
        "one.txt": {"classes": ["sport"]}, "two.txt": {"classes": ["sport", "news"]},
    }  # fmt: skip

    ner = labeled_project(
        client, db, settings, task_type="text_ner", classes=["PER"], files={"one.txt": "Hi Ana"}, labels={}, name="Doccano",
    )  # fmt: skip
    ok(post_import(client, ner, b'{"text": "Hi Ana", "label": [[3, 6, "PER"]]}\n', "jsonl"))
    assert labels_by_path(db, ner.project_id) == {
        "one.txt": {"spans": [{"start": 3, "end": 6, "class": "PER"}]}
    }
