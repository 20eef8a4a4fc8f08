"""Label Studio exports through the API, one project per task type, checked by Label Studio's own SDK:
`LabelInterface` validates the labeling config and every annotation and prediction against it (control
names, result types, labels, value shapes), and the SDK's `Converter` turns the tasks into COCO (boxes,
polygons), CoNLL 2003 (entities), JSON-min (classes) and NumPy masks (its brush RLE decoder), which must
give back what was labeled. Percentages are checked exactly. Each export is kept as a golden file, item
ids and the datastore's folder normalized (TESSERA_UPDATE_GOLDENS=1 rewrites them; check them by eye)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from label_studio_sdk.converter import Converter
from label_studio_sdk.label_interface import LabelInterface
from PIL import Image
from sqlalchemy import select, update

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats.label_studio import brush_rle
from tessera.items.models import Item
from tessera.labels.models import Prelabel, PrelabelSource
from tessera.projects.models import LabelClass
from tests.support.data_api import job_done, ok
from tests.support.exports import LabeledProject, labeled_project, run_export, unzip

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "formats" / "label_studio"
IMAGES: dict[str, tuple[int, int] | str] = {"a.png": (40, 30), "b.png": (40, 30), "sub/c.png": (30, 7)}
NER_TEXT = "👋 Hi Ana, welcome to Tōkyō!\nBye 👨🏻‍🚒 Bob."


def _mask() -> tuple[np.ndarray[Any, np.dtype[np.uint8]], str]:
    indices = np.zeros((30, 40), dtype=np.uint8)
    indices[5:15, 4:20] = 1  # cat
    indices[20:28, 25:38] = 2  # dog
    output = io.BytesIO()
    Image.fromarray(indices).save(output, format="PNG")
    return indices, base64.b64encode(output.getvalue()).decode("ascii")


def _ner_span(part: str, cls: str) -> dict[str, Any]:
    start = NER_TEXT.index(part)
    return {"start": start, "end": start + len(part), "class": cls}


CASES: dict[str, dict[str, Any]] = {
    "image_classification_multiclass": {"files": IMAGES, "labels": {"a.png": {"classes": ["cat"]}}},
    "image_classification_multilabel": {"files": IMAGES, "labels": {"a.png": {"classes": ["dog", "cat"]}}},
    "object_detection": {
        "files": IMAGES,
        "labels": {
            "a.png": {"boxes": [{"class": "cat", "x": 10, "y": 6, "width": 20, "height": 12},
                                {"class": "dog", "x": 1, "y": 0, "width": 3, "height": 30}]},
            "sub/c.png": {"boxes": [{"class": "dog", "x": 1, "y": 1, "width": 10, "height": 3}]},
        },
    },
    "instance_segmentation": {
        "files": IMAGES,
        "labels": {"a.png": {"polygons": [{"class": "dog", "points": [[4, 3], [36, 3], [20, 27]]}]}},
    },
    "semantic_segmentation": {
        "files": IMAGES, "labels": {"a.png": {"mask_png": _mask()[1], "classes": ["cat", "dog"]}},
    },
    "text_classification_multiclass": {
        "files": {"a.txt": "Ça va 🙂", "b.txt": "Not labeled"}, "labels": {"a.txt": {"classes": ["dog"]}},
    },
    "text_classification_multilabel": {
        "files": {"a.txt": "Ça va 🙂", "b.txt": "Not labeled"}, "labels": {"a.txt": {"classes": ["cat", "dog"]}},
    },
    "text_ner": {
        "files": {"a.txt": NER_TEXT, "b.txt": "Not labeled"},
        "labels": {"a.txt": {"spans": [_ner_span("Ana", "cat"), _ner_span("Tōkyō", "dog"), _ner_span("Bob", "cat")]}},
    },
}  # fmt: skip


def _export(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path, task_type: str, **options: Any
) -> tuple[LabeledProject, str, list[dict[str, Any]]]:
    case = CASES[task_type]
    made = labeled_project(
        client, db, settings, task_type=task_type, classes=["cat", "dog"], files=case["files"],
        labels=case["labels"], name=f"LS {task_type}",
    )  # fmt: skip
    export, data = run_export(
        client, made.admin, made.project_id, "label_studio", {"items": "all", **options}
    )
    assert export["file_name"].endswith("-label_studio.zip")
    assert unzip(data, tmp_path) == ["label_config.xml", "tasks.json"]
    tasks = json.loads((tmp_path / "tasks.json").read_text("utf-8"))
    assert [task["id"] for task in tasks] == sorted(made.item_ids.values())  # by item id, every item
    return made, (tmp_path / "label_config.xml").read_text("utf-8"), tasks


def _validate(config: str, tasks: list[dict[str, Any]]) -> None:
    """Label Studio's SDK checks: the config, each task's data, every annotation's and prediction's
    regions (from_name/to_name/type against the config, labels among its labels, value shapes)."""
    interface = LabelInterface(config)
    interface.validate()
    for task in tasks:
        assert all(task["data"].get(tag.value_name) is not None for tag in interface.objects)
        for made in [*task["annotations"], *task.get("predictions", [])]:
            assert made["result"], task
            assert interface.validate_prediction(made, return_errors=True) == [], task


def _matches_golden(made: LabeledProject, task_type: str, folder: Path) -> None:
    """tasks.json and label_config.xml as written, but for the datastore's folder in URLs, and the order
    of tasks and their ids (by path, ids 1, 2...: text items' ids follow the datastore's listing order,
    which differs between file systems)."""
    text = (folder / "tasks.json").read_text("utf-8").replace(made.root.as_uri(), "file:///datastore")
    assert text.startswith("[\n") and text.endswith("\n]\n")
    lines = [line.removesuffix(",") for line in text[2:-3].split("\n")]
    tasks = {json.loads(line)["data"]["path"]: line for line in lines}
    normalized = [
        re.sub(r'^\{"id":\d+,', f'{{"id":{index},', tasks[path], count=1)
        for index, path in enumerate(sorted(tasks), start=1)
    ]
    files = {
        f"{task_type}.json": "[\n" + ",\n".join(normalized) + "\n]\n",
        f"{task_type}.xml": (folder / "label_config.xml").read_text("utf-8"),
    }
    for name, content in files.items():
        path = GOLDEN / name
        if os.environ.get("TESSERA_UPDATE_GOLDENS"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        assert path.exists(), f"{path} is missing: run with TESSERA_UPDATE_GOLDENS=1 and check it by eye"
        assert content == path.read_text(encoding="utf-8"), f"the export differs from {path}"


def _results(tasks: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    [task] = [task for task in tasks if task["data"]["path"] == path]
    return [result for annotation in task["annotations"] for result in annotation["result"]]


def _convert(config: str, folder: Path, to: str) -> Path:
    converter = Converter(config, project_dir=str(folder), download_resources=False)
    (folder / to).mkdir()  # its brush converters do not make their folder
    converter.convert(str(folder / "tasks.json"), str(folder / to), to, is_dir=False)
    return folder / to


@pytest.mark.parametrize("task_type", sorted(CASES))
def test_a_label_studio_export_validates_and_matches_its_golden_file(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path, task_type: str
) -> None:
    made, config, tasks = _export(client, db, settings, tmp_path, task_type)
    _validate(config, tasks)
    _matches_golden(made, task_type, tmp_path)
    labeled = {path for path, label in CASES[task_type]["labels"].items() if label}
    assert {task["data"]["path"] for task in tasks if task["annotations"]} == labeled  # others: no annotation


def test_boxes_are_in_percent_of_the_image_and_convert_back_to_pixels(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    _, config, tasks = _export(client, db, settings, tmp_path, "object_detection")
    assert [result["value"] for result in _results(tasks, "a.png")] == [
        {"x": 25.0, "y": 20.0, "width": 50.0, "height": 40.0, "rotation": 0, "rectanglelabels": ["cat"]},
        {"x": 2.5, "y": 0.0, "width": 7.5, "height": 100.0, "rotation": 0, "rectanglelabels": ["dog"]},
    ]
    [small] = _results(tasks, "sub/c.png")  # 30×7: x = 1 × 100 / 30, y = 1 × 100 / 7 ...
    assert small["value"] == {
        "x": 3.3333333333333335, "y": 14.285714285714286, "width": 33.333333333333336,
        "height": 42.857142857142854, "rotation": 0, "rectanglelabels": ["dog"],
    }  # fmt: skip
    assert (small["original_width"], small["original_height"], small["image_rotation"]) == (30, 7, 0)
    coco = json.loads((_convert(config, tmp_path, "COCO") / "result.json").read_text("utf-8"))
    names = {category["id"]: category["name"] for category in coco["categories"]}
    boxes = sorted((names[box["category_id"]], box["bbox"]) for box in coco["annotations"])
    assert [name for name, _ in boxes] == ["cat", "dog", "dog"]
    assert [bbox for _, bbox in boxes] == [
        pytest.approx([10, 6, 20, 12]), pytest.approx([1, 0, 3, 30]), pytest.approx([1, 1, 10, 3]),
    ]  # fmt: skip


def test_polygons_are_in_percent_and_convert_back_to_pixels(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    _, config, tasks = _export(client, db, settings, tmp_path, "instance_segmentation")
    [polygon] = _results(tasks, "a.png")
    assert polygon["value"] == {"points": [[10.0, 10.0], [90.0, 10.0], [50.0, 90.0]], "closed": True,
                                "polygonlabels": ["dog"]}  # fmt: skip
    coco = json.loads((_convert(config, tmp_path, "COCO") / "result.json").read_text("utf-8"))
    [annotation] = coco["annotations"]
    assert annotation["segmentation"] == [pytest.approx([4, 3, 36, 3, 20, 27])]


def test_masks_are_label_studio_rle_that_its_converter_decodes_to_the_mask(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    _, config, tasks = _export(client, db, settings, tmp_path, "semantic_segmentation")
    assert [result["value"]["brushlabels"] for result in _results(tasks, "a.png")] == [["cat"], ["dog"]]
    folder = _convert(config, tmp_path, "BRUSH_TO_NUMPY")
    indices = _mask()[0]
    for value, name in enumerate(["cat", "dog"], start=1):
        [layer] = folder.glob(f"*-label-{name}-0.npy")
        assert np.array_equal(np.load(layer), np.where(indices == value, 255, 0).astype(np.uint8))


def test_the_brush_rle_round_trips_through_label_studio_s_decoder_at_every_run_length() -> None:
    from label_studio_sdk.converter.brush import decode_rle

    generator = np.random.default_rng(5)
    masks = [np.ones((1, 1), bool), np.zeros((300, 300), bool), generator.random((97, 131)) < 0.5]
    masks.append(np.zeros((200, 400), bool))
    masks[-1][50:150, 10:390] = True  # runs over 65,536 values: split across length fields
    for mask in masks:
        decoded = decode_rle(bytes(brush_rle(mask))).reshape(*mask.shape, 4)
        assert np.array_equal(decoded, np.repeat(mask[..., None], 4, axis=2).astype(np.uint8) * 255)


def test_entities_use_code_point_offsets_and_convert_to_conll(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    _, config, tasks = _export(client, db, settings, tmp_path, "text_ner")
    values = [result["value"] for result in _results(tasks, "a.txt")]
    assert [(value["text"], value["labels"]) for value in values] == [
        ("Ana", ["cat"]), ("Tōkyō", ["dog"]), ("Bob", ["cat"]),
    ]  # fmt: skip
    assert all(NER_TEXT[value["start"] : value["end"]] == value["text"] for value in values)
    assert values[2]["start"] == 37  # code points; in UTF-16 units (JavaScript's length) it would be 41
    assert len(NER_TEXT[:37].encode("utf-16-le")) // 2 == 41
    lines = (_convert(config, tmp_path, "CONLL2003") / "result.conll").read_text("utf-8").splitlines()
    tags = dict(line.split(" -X- _ ") for line in lines if " -X- _ " in line)
    assert (tags["Ana"], tags["Tōkyō"], tags["Bob"], tags["Hi"]) == ("B-cat", "B-dog", "B-cat", "O")


@pytest.mark.parametrize(
    ("task_type", "expected"),
    [
        ("text_classification_multiclass", "dog"),
        ("image_classification_multilabel", {"choices": ["cat", "dog"]}),
    ],
)
def test_classes_are_choices_that_convert_to_json_min(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path, task_type: str, expected: Any
) -> None:
    _, config, _ = _export(client, db, settings, tmp_path, task_type)
    assert ('choice="multiple"' in config) == task_type.endswith("multilabel")
    records = json.loads((_convert(config, tmp_path, "JSON_MIN") / "result.json").read_text("utf-8"))
    assert [record["label"] for record in records if "label" in record] == [expected]


def test_prelabels_become_predictions_with_their_score(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    case = CASES["object_detection"]
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["cat", "dog"], files=case["files"],
        labels=case["labels"], name="LS prelabels",
    )  # fmt: skip
    with db.write() as session:
        query = select(LabelClass.id).where(
            LabelClass.project_id == made.project_id, LabelClass.name == "dog"
        )
        box = {"class_id": session.scalars(query).one(), "x": 4, "y": 3, "width": 8, "height": 6}
        for path in ("a.png", "b.png"):
            session.add(Prelabel(item_id=made.item_ids[path], project_id=made.project_id, payload={"boxes": [box]},
                                 source=PrelabelSource.model, confidence=0.75))  # fmt: skip
    (made.root / "b.png").unlink()  # never labeled, now unreadable: the export cannot tell its size
    _, data = run_export(
        client, made.admin, made.project_id, "label_studio", {"items": "all", "include_prelabels": True}
    )
    unzip(data, tmp_path)
    tasks = json.loads((tmp_path / "tasks.json").read_text("utf-8"))
    _validate((tmp_path / "label_config.xml").read_text("utf-8"), tasks)
    predictions = {task["data"]["path"]: task["predictions"] for task in tasks}
    [prediction] = predictions.pop("a.png")
    assert (prediction["model_version"], prediction["score"]) == ("tessera-prelabel", 0.75)
    [result] = prediction["result"]
    assert (result["id"], result["original_width"], result["original_height"]) == ("p1", 40, 30)
    assert result["value"] == {
        "x": 10.0, "y": 10.0, "width": 20.0, "height": 20.0, "rotation": 0, "rectanglelabels": ["dog"],
    }  # fmt: skip
    assert predictions == {"b.png": [], "sub/c.png": []}  # b.png's box has no size to be in percent of


def test_boxes_on_an_image_of_unknown_size_fail_the_export_naming_the_item(
    client: TestClient, db: Database, settings: Settings
) -> None:
    case = CASES["object_detection"]
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["cat", "dog"], files=case["files"],
        labels=case["labels"], name="LS unknown size",
    )  # fmt: skip
    with db.write() as session:
        session.execute(update(Item).where(Item.id == made.item_ids["a.png"]).values(width=None, height=None))
    (made.root / "a.png").unlink()
    body = {"format": "label_studio", "options": {}}
    started = ok(client.post(f"/api/projects/{made.project_id}/exports", json=body, headers=made.admin), 202)
    assert job_done(client, made.admin, started["job_id"])["status"] == "failed"
    export = ok(client.get(f"/api/exports/{started['id']}", headers=made.admin))
    assert export["state"] == "failed" and "item 'a.png'" in export["message"]
    assert "Label Studio's shapes are in percent of it" in export["message"]


def test_rows_of_a_table_file_carry_their_row_index_beside_the_shared_path(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="text_classification_multiclass", classes=["cat", "dog"],
        files={"rows.csv": "text\nfirst row\nsecond 🙂\n"}, labels={}, name="LS rows",
    )  # fmt: skip
    _, data = run_export(client, made.admin, made.project_id, "label_studio", {"items": "all"})
    unzip(data, tmp_path)
    tasks = json.loads((tmp_path / "tasks.json").read_text("utf-8"))
    assert sorted((task["data"]["row_index"], task["data"]["text"]) for task in tasks) == [
        (1, "first row"), (2, "second 🙂"),
    ]  # fmt: skip
    assert {task["data"]["path"] for task in tasks} == {"rows.csv"}
