"""COCO exports, read back by pycocotools: for each task-type family, a small labeled project exported
through the API, its images, categories and annotations checked value by value (semantic masks decoded
pixel for pixel) and the file compared with its golden sample; and the writer's memory staying flat on a
large source.

Golden files: tests/golden/formats/coco/<case>.json, the export with the datastore's URL, item ids and
dates replaced and its items in path order (see `normalized`); the export's own layout is checked apart. After a deliberate change to the format, check the new output by eye and rewrite them with
TESSERA_UPDATE_GOLDEN=1."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats import coco
from tessera.labels.models import Prelabel, PrelabelSource
from tessera.projects.models import LabelClass
from tests.support.exports import LabeledProject, labeled_project, run_export
from tests.support.streaming import ManyDetections, measure_writer

GOLDEN = Path(__file__).parents[1] / "golden" / "formats" / "coco"
UPDATE_GOLDEN = os.environ.get("TESSERA_UPDATE_GOLDEN") == "1"
Pixels = npt.NDArray[Any]

# pycocotools' mask.decode under NumPy 2
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def layout(document: dict[str, Any]) -> str:
    """The document in the writer's layout: top-level keys a line each, array entries a line each."""

    def value(key: str, entries: Any) -> str:
        if key in ("info", "licenses"):
            return dumps(entries)
        return "[" + ",".join("\n" + dumps(entry) for entry in entries) + "\n]"

    return (
        "{" + ",\n".join(f"{dumps(key)}:{value(key, entries)}" for key, entries in document.items()) + "}\n"
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def normalized(document: dict[str, Any], made: LabeledProject) -> dict[str, Any]:
    """The export without what varies between runs: the datastore's folder, item ids, dates, and the
    order of the items (item ids follow the order the file system lists the files in): images renumbered
    in path order, annotations renumbered in the order of their images."""
    images = sorted(document["images"], key=lambda image: image["file_name"])
    number = {image["id"]: index for index, image in enumerate(images, start=1)}
    steady = dict(document, info={**document["info"], "year": "<year>", "date_created": "<date>"})
    steady["images"] = [
        {**image, "id": number[image["id"]], "tessera_item_id": "<id>",
         "coco_url": image["coco_url"].replace(made.root.as_uri(), "file:///datastore")}
        for image in images
    ]  # fmt: skip
    for key in ("annotations", "tessera_prelabels"):
        if key in document:
            ordered = sorted(document[key], key=lambda entry: (number[entry["image_id"]], entry["id"]))
            steady[key] = [
                {**entry, "id": index, "image_id": number[entry["image_id"]]}
                for index, entry in enumerate(ordered, start=1)
            ]
    return steady


def check_golden(case: str, text: str) -> None:
    path = GOLDEN / f"{case}.json"
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"the COCO export differs from {path}; if the change is meant, check it and rerun with "
        "TESSERA_UPDATE_GOLDEN=1"
    )


def export_coco(
    client: TestClient, made: LabeledProject, tmp_path: Path, options: dict[str, Any], case: str | None
) -> tuple[COCO, dict[str, Any]]:
    """The export read by pycocotools, and as plain JSON; compared with the golden file `case`."""
    export, data = run_export(client, made.admin, made.project_id, "coco", options)
    assert export["file_name"].endswith("-coco.json")  # one file, delivered as it is
    path = tmp_path / f"{case or 'export'}.json"
    path.write_bytes(data)
    document = json.loads(data)
    assert layout(document) == data.decode("utf-8")
    for key in ("images", "annotations", "tessera_prelabels"):
        assert [entry["id"] for entry in document.get(key, [])] == list(
            range(1, len(document.get(key, [])) + 1)
        )
    for image in document["images"]:
        assert image["tessera_item_id"] == made.item_ids[image["file_name"]]
        assert image["coco_url"] == (made.root / image["file_name"]).as_uri()
    if case:
        check_golden(case, layout(normalized(document, made)))
    return COCO(str(path)), document


def image_ids(api: COCO) -> dict[str, int]:
    return {image["file_name"]: image_id for image_id, image in api.imgs.items()}


def annotations_of(api: COCO, image_id: int) -> list[dict[str, Any]]:
    return list(api.loadAnns(api.getAnnIds(imgIds=[image_id])))


CLASSIFICATION_FILES: dict[str, tuple[int, int] | str] = {
    "a.png": (64, 48),
    "b.png": (50, 50),
    "c.png": (30, 20),
}


@pytest.mark.parametrize(
    ("task_type", "labels"),
    [
        ("image_classification_multiclass", {"a.png": ["cat"], "b.png": ["bird"]}),
        ("image_classification_multilabel", {"a.png": ["cat", "bird"], "b.png": ["dog"]}),
    ],
)
def test_classification_exports_an_annotation_per_class_of_each_image(
    client: TestClient,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    task_type: str,
    labels: dict[str, list[str]],
) -> None:
    made = labeled_project(
        client, db, settings, task_type=task_type, classes=["cat", "dog", "bird"], files=CLASSIFICATION_FILES,
        labels={name: {"classes": classes} for name, classes in labels.items()},
    )  # fmt: skip
    api, document = export_coco(client, made, tmp_path, {"items": "all"}, task_type)
    assert [(cat["id"], cat["name"]) for cat in api.loadCats(api.getCatIds())] == [
        (1, "cat"), (2, "dog"), (3, "bird"),
    ]  # fmt: skip
    ids = image_ids(api)
    assert sorted(ids) == ["a.png", "b.png", "c.png"] and sorted(ids.values()) == [1, 2, 3]
    category = {"cat": 1, "dog": 2, "bird": 3}
    for name, image_id in ids.items():
        found = annotations_of(api, image_id)
        assert sorted(ann["category_id"] for ann in found) == sorted(
            category[c] for c in labels.get(name, [])
        )
        assert all(set(ann) == {"id", "image_id", "category_id"} for ann in found)
        image = api.imgs[image_id]
        assert image["tessera_labeled"] is (name in labels)
        assert (image["width"], image["height"]) == CLASSIFICATION_FILES[name]  # read from the file's header
    assert len(api.anns) == sum(len(classes) for classes in labels.values())
    assert "tessera_prelabels" not in document and "split" not in document["images"][0]

    options = {"items": "all", "validation_share": 0.5, "seed": 11}
    _, split = export_coco(client, made, tmp_path, options, None)
    _, csv_data = run_export(client, made.admin, made.project_id, "csv", options)
    csv_split = {row["item_id"]: row["split"] for row in csv.DictReader(io.StringIO(csv_data.decode()))}
    assert {str(image["tessera_item_id"]): image["split"] for image in split["images"]} == csv_split


def test_object_detection_exports_boxes_and_prelabels_apart(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    boxes: dict[str, list[dict[str, Any]]] = {
        "a.png": [
            {"class": "cat", "x": 16, "y": 12, "width": 32, "height": 24},
            {"class": "dog", "x": 0.5, "y": 1.25, "width": 10.5, "height": 20},
        ],
        "sub/b.png": [{"class": "dog", "x": 5, "y": 10, "width": 45, "height": 40}],
        "c.png": [],
    }
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["cat", "dog"],
        files={"a.png": (64, 48), "sub/b.png": (50, 50), "c.png": (40, 20), "d.png": (30, 30)},
        labels={name: {"boxes": shapes} for name, shapes in boxes.items()}, name="Boxes",
    )  # fmt: skip
    with db.write() as session:
        dog = session.scalars(
            select(LabelClass.id).where(LabelClass.project_id == made.project_id, LabelClass.name == "dog")
        ).one()
        offered = {"boxes": [{"class_id": dog, "x": 1, "y": 2, "width": 3, "height": 4}]}
        for name, confidence in (("d.png", 0.75), ("a.png", None)):
            session.add(
                Prelabel(
                    item_id=made.item_ids[name], project_id=made.project_id, payload=offered,
                    source=PrelabelSource.model, confidence=confidence,
                )
            )  # fmt: skip
    api, document = export_coco(
        client, made, tmp_path, {"items": "all", "include_prelabels": True}, "object_detection"
    )
    ids = image_ids(api)
    assert [api.imgs[ids[name]]["width"] for name in ("a.png", "sub/b.png", "c.png", "d.png")] == [
        64, 50, 40, 30,
    ]  # fmt: skip
    for name, shapes in boxes.items():
        found = annotations_of(api, ids[name])
        assert [ann["bbox"] for ann in found] == [[b["x"], b["y"], b["width"], b["height"]] for b in shapes]
        assert [ann["area"] for ann in found] == [b["width"] * b["height"] for b in shapes]
        assert [ann["category_id"] for ann in found] == [1 if b["class"] == "cat" else 2 for b in shapes]
        assert all(ann["iscrowd"] == 0 and ann["segmentation"] == [] for ann in found)
    assert len(api.anns) == 3 and annotations_of(api, ids["d.png"]) == []

    results = api.loadRes(document["tessera_prelabels"])  # the prelabels read as detection results
    offered_to = {results.anns[ann_id]["image_id"]: results.anns[ann_id] for ann_id in results.anns}
    assert sorted(offered_to) == sorted([ids["d.png"], ids["a.png"]])
    assert offered_to[ids["d.png"]]["score"] == 0.75 and "score" not in offered_to[ids["a.png"]]
    assert offered_to[ids["d.png"]]["bbox"] == [1, 2, 3, 4] and offered_to[ids["d.png"]]["category_id"] == 2


def test_instance_segmentation_exports_polygons_with_their_box_and_area(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    polygons: dict[str, list[dict[str, Any]]] = {
        "a.png": [
            {"class": "cat", "points": [[10, 10], [30, 10], [10, 40]]},
            {"class": "dog", "points": [[40.5, 5], [60, 5], [60, 20.25], [40.5, 20.25]]},
        ],
        "b.png": [{"class": "dog", "points": [[0, 0], [50, 0], [50, 50], [25, 10], [0, 50]]}],
    }
    made = labeled_project(
        client, db, settings, task_type="instance_segmentation", classes=["cat", "dog"],
        files={"a.png": (64, 48), "b.png": (50, 50), "c.png": (30, 20)},
        labels={name: {"polygons": shapes} for name, shapes in polygons.items()}, name="Polygons",
    )  # fmt: skip
    api, _ = export_coco(client, made, tmp_path, {"items": "all"}, "instance_segmentation")
    ids = image_ids(api)
    expected: dict[str, list[tuple[list[float], list[float], float]]] = {
        "a.png": [([10, 10, 30, 10, 10, 40], [10, 10, 20, 30], 300), ([40.5, 5, 60, 5, 60, 20.25, 40.5, 20.25], [40.5, 5, 19.5, 15.25], 297.375)],
        "b.png": [([0, 0, 50, 0, 50, 50, 25, 10, 0, 50], [0, 0, 50, 50], 1500)],
        "c.png": [],
    }  # fmt: skip
    for name, shapes in expected.items():
        found = annotations_of(api, ids[name])
        assert [(ann["segmentation"], ann["bbox"], ann["area"]) for ann in found] == [
            ([segmentation], bbox, area) for segmentation, bbox, area in shapes
        ]
        for ann in found:  # pycocotools rasterizes the polygon over the image's size
            pixels = api.annToMask(ann)
            assert pixels.shape == (api.imgs[ids[name]]["height"], api.imgs[ids[name]]["width"])
            assert abs(int(pixels.sum()) - ann["area"]) < 0.2 * ann["area"]
    assert len(api.anns) == 3


def mask_png(values: Pixels) -> str:
    output = io.BytesIO()
    Image.fromarray(values.astype(np.uint8), mode="L").save(output, format="PNG")
    return base64.b64encode(output.getvalue()).decode("ascii")


def test_semantic_segmentation_exports_a_crowd_rle_per_class_pixel_for_pixel(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    first = np.zeros((48, 64), dtype=np.uint8)
    first[30:, :] = 1  # road, a band at the bottom
    first[:20, :20] = 2 * np.tri(20, 20, dtype=np.uint8)[::-1, :]  # sky, a triangle from the corner (0, 0)
    second = np.zeros((50, 50), dtype=np.uint8)
    second[10:40, 10:40] = 1
    second[20:30, 20:30] = 0  # car, a ring: runs broken in every column it crosses
    masks: dict[str, tuple[Pixels, list[str]]] = {
        "a.png": (first, ["road", "sky"]),
        "b.png": (second, ["car"]),
        "c.png": (np.zeros((20, 30)), []),
    }
    made = labeled_project(
        client, db, settings, task_type="semantic_segmentation", classes=["sky", "road", "car"],
        files={"a.png": (64, 48), "b.png": (50, 50), "c.png": (30, 20), "d.png": (16, 16)},
        labels={name: {"mask_png": mask_png(values), "classes": classes} for name, (values, classes) in masks.items()},
        name="Masks",
    )  # fmt: skip
    api, _ = export_coco(client, made, tmp_path, {"items": "all"}, "semantic_segmentation")
    ids = image_ids(api)
    category = {"sky": 1, "road": 2, "car": 3}
    for name, (values, classes) in masks.items():
        height, width = values.shape
        image = api.imgs[ids[name]]
        assert (image["width"], image["height"]) == (width, height)
        found = annotations_of(api, ids[name])
        assert [ann["category_id"] for ann in found] == [category[c] for c in classes]
        for value, ann in enumerate(found, start=1):
            assert ann["iscrowd"] == 1 and ann["segmentation"]["size"] == [height, width]
            rle = mask_utils.frPyObjects(ann["segmentation"], height, width)
            decoded = mask_utils.decode(rle)
            assert np.array_equal(decoded, (values == value).astype(np.uint8))
            assert np.array_equal(api.annToMask(ann), decoded)
            assert ann["bbox"] == mask_utils.toBbox(rle).tolist()
            assert ann["area"] == int(mask_utils.area(rle)) == int((values == value).sum())
    assert api.loadAnns(api.getAnnIds(imgIds=[ids["a.png"]]))[1]["segmentation"]["counts"][0] == 0
    assert api.imgs[ids["d.png"]]["width"] == 16 and annotations_of(api, ids["d.png"]) == []


def test_the_coco_writer_streams_in_flat_memory(tmp_path: Path) -> None:
    measured = measure_writer(coco.write, ManyDetections(20_000), tmp_path)
    assert measured.written == 20_000 and measured.reports == list(range(1000, 20_000 + 1, 1000))
    assert measured.peak < 5 * 1024 * 1024 and measured.holding > 10 * measured.peak, measured
