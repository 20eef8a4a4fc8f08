"""Pascal VOC and YOLO exports of a detection project, through the API: VOC's XML read back with
xml.etree, YOLO's files parsed and their normalized values checked exactly (boxes at exact fractions), its
data.yaml read as Ultralytics reads it (yaml.safe_load); both compared with their golden samples, split
into train and validation alike, and refusing what they cannot write.

Golden files: tests/golden/formats/{voc,yolo}/detection/, the export's files with the datastore's URL and
item ids replaced and the lines of its lists sorted (items come in the order the file system listed the
files in). After a deliberate change, check the new output by eye and rewrite them with
TESSERA_UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import update

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item
from tests.support.data_api import job_done, ok
from tests.support.exports import LabeledProject, labeled_project, run_export, unzip

GOLDEN = Path(__file__).parents[1] / "golden" / "formats"
UPDATE_GOLDEN = os.environ.get("TESSERA_UPDATE_GOLDEN") == "1"
LISTS = {"images.txt", "unlabeled.txt", "train.txt", "val.txt"}

ODD = 'R&D: "box" <1>'  # a class name that XML and YAML must escape
FILES: dict[str, tuple[int, int] | str] = {
    "a.png": (64, 48), "sub/b.png": (50, 50), "c.png": (40, 20), "d.png": (30, 30),
}  # fmt: skip
BOXES: dict[str, list[dict[str, Any]]] = {
    "a.png": [
        {"class": "cat", "x": 16, "y": 12, "width": 32, "height": 24},
        {"class": ODD, "x": 0, "y": 0, "width": 8, "height": 6},
    ],
    "sub/b.png": [
        {"class": ODD, "x": 5.5, "y": 10, "width": 20, "height": 12.5},
        {"class": "cat", "x": 0, "y": 0, "width": 50, "height": 50},
    ],
    "c.png": [],  # labeled: nothing there
}  # d.png: never labeled


def detection_project(client: TestClient, db: Database, settings: Settings) -> LabeledProject:
    return labeled_project(
        client, db, settings, task_type="object_detection", classes=["cat", ODD], files=FILES,
        labels={name: {"boxes": boxes} for name, boxes in BOXES.items()}, name="Detect",
    )  # fmt: skip


def export_files(
    client: TestClient, made: LabeledProject, fmt: str, options: dict[str, Any], into: Path
) -> dict[str, str]:
    """The export's files (path in the zip → text)."""
    export, data = run_export(client, made.admin, made.project_id, fmt, options)
    assert export["file_name"].endswith(f"-{fmt}.zip")
    return {name: (into / name).read_text(encoding="utf-8") for name in unzip(data, into)}


def check_golden(case: str, files: dict[str, str], made: LabeledProject) -> None:
    """The files, made steady (URLs from the datastore's folder, item ids, the order of list lines),
    equal the golden folder's, file for file."""
    steady = {}
    for name, text in files.items():
        text = text.replace(made.root.as_uri(), "file:///datastore")
        text = re.sub(
            r"<tessera_item_id>\d+</tessera_item_id>", "<tessera_item_id>ID</tessera_item_id>", text
        )
        steady[name] = "".join(sorted(text.splitlines(keepends=True))) if Path(name).name in LISTS else text
    folder = GOLDEN / case
    if UPDATE_GOLDEN:
        for name, text in steady.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
    golden = {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in folder.rglob("*")
        if path.is_file()
    }
    assert steady == golden, f"the export differs from {folder}; if meant, rerun with TESSERA_UPDATE_GOLDEN=1"


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 (the export's own output)


def voc_boxes(xml_text: str) -> list[tuple[str, int, int, int, int]]:
    boxes = []
    for obj in parse_xml(xml_text).iter("object"):
        xmin, ymin, xmax, ymax = (
            int(obj.findtext(f"bndbox/{side}", "")) for side in ("xmin", "ymin", "xmax", "ymax")
        )
        boxes.append((obj.findtext("name", ""), xmin, ymin, xmax, ymax))
    return boxes


def test_a_voc_export_holds_an_xml_file_of_one_based_boxes_per_labeled_image(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = detection_project(client, db, settings)
    files = export_files(client, made, "voc", {"items": "all"}, tmp_path)
    assert sorted(files) == [
        "Annotations/a.xml", "Annotations/c.xml", "Annotations/sub/b.xml", "labels.txt", "unlabeled.txt",
    ]  # fmt: skip
    assert files["labels.txt"] == f"cat\n{ODD}\n" and files["unlabeled.txt"] == "d.png\n"
    assert voc_boxes(files["Annotations/a.xml"]) == [("cat", 17, 13, 48, 36), (ODD, 1, 1, 8, 6)]
    # 5.5 → 6 (halves up) + 1; 5.5 + 20 = 25.5 → 26; 10 + 1; 22.5 → 23; the whole 50×50 image: 1..50
    assert voc_boxes(files["Annotations/sub/b.xml"]) == [(ODD, 7, 11, 26, 23), ("cat", 1, 1, 50, 50)]
    assert voc_boxes(files["Annotations/c.xml"]) == []
    root = parse_xml(files["Annotations/sub/b.xml"])
    assert [root.findtext(tag) for tag in ("folder", "filename", "path", "url", "tessera_item_id")] == [
        "sub", "b.png", "sub/b.png", (made.root / "sub" / "b.png").as_uri(), str(made.item_ids["sub/b.png"]),
    ]  # fmt: skip
    assert [root.findtext(f"size/{tag}") for tag in ("width", "height", "depth")] == ["50", "50", "3"]
    assert {obj.findtext(tag) for obj in root.iter("object") for tag in ("truncated", "difficult")} == {"0"}
    check_golden("voc/detection", files, made)


def test_a_yolo_export_holds_normalized_boxes_and_the_ultralytics_dataset_file(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = detection_project(client, db, settings)
    files = export_files(client, made, "yolo", {"items": "all"}, tmp_path)
    assert sorted(files) == [
        "classes.txt", "data.yaml", "images.txt", "labels/a.txt", "labels/c.txt", "labels/sub/b.txt",
        "unlabeled.txt",
    ]  # fmt: skip
    assert (
        files["labels/a.txt"]
        == "0 0.500000 0.500000 0.500000 0.500000\n1 0.062500 0.062500 0.125000 0.125000\n"
    )
    assert (
        files["labels/sub/b.txt"]
        == "1 0.310000 0.325000 0.400000 0.250000\n0 0.500000 0.500000 1.000000 1.000000\n"
    )
    assert files["labels/c.txt"] == ""  # background
    assert files["classes.txt"] == f"cat\n{ODD}\n"
    assert yaml.safe_load(files["data.yaml"]) == {
        "train": "images", "val": "images", "nc": 2, "names": {0: "cat", 1: ODD},
    }  # fmt: skip
    urls = {(made.root / name).as_uri() for name in BOXES}
    assert set(files["images.txt"].splitlines()) == urls and len(files["images.txt"].splitlines()) == 3
    assert files["unlabeled.txt"] == (made.root / "d.png").as_uri() + "\n"
    check_golden("yolo/detection", files, made)


def test_voc_and_yolo_split_the_labeled_images_alike(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = detection_project(client, db, settings)
    options = {"validation_share": 0.5, "seed": 5}
    yolo = export_files(client, made, "yolo", options, tmp_path / "yolo")
    voc = export_files(client, made, "voc", options, tmp_path / "voc")
    train, val = yolo["train.txt"].splitlines(), yolo["val.txt"].splitlines()
    assert sorted(train + val) == sorted(f"./images/{name}" for name in BOXES)
    assert yaml.safe_load(yolo["data.yaml"])["train"] == "train.txt"
    assert yaml.safe_load(yolo["data.yaml"])["val"] == "val.txt"
    assert voc["ImageSets/Main/train.txt"].splitlines() == [line[9:].rsplit(".", 1)[0] for line in train]
    assert voc["ImageSets/Main/val.txt"].splitlines() == [line[9:].rsplit(".", 1)[0] for line in val]
    assert "unlabeled.txt" not in yolo and "unlabeled.txt" not in voc  # items: final


def failed_export(client: TestClient, made: LabeledProject, fmt: str) -> str:
    url = f"/api/projects/{made.project_id}/exports"
    started = ok(client.post(url, json={"format": fmt}, headers=made.admin), 202)
    assert job_done(client, made.admin, started["job_id"])["status"] == "failed"
    export = ok(client.get(f"/api/exports/{started['id']}", headers=made.admin))
    assert export["state"] == "failed" and not export["download_url"]
    return str(export["message"])


def test_files_that_would_share_a_label_file_or_lack_a_size_are_refused_by_name(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    box = {"class": "cat", "x": 1, "y": 1, "width": 4, "height": 4}
    made = labeled_project(
        client, db, settings, task_type="object_detection", classes=["cat"],
        files={"a.png": (8, 8), "a.jpg": (8, 8)}, labels={"a.png": {"boxes": [box]}, "a.jpg": {"boxes": [box]}},
        name="Twins",
    )  # fmt: skip
    for fmt, target in (("voc", "Annotations/a.xml"), ("yolo", "labels/a.txt")):
        message = failed_export(client, made, fmt)
        assert f"would both be written to {target}" in message and "rename one of the files" in message

    with db.write() as session:  # a size not read at labeling is read from the file by the export
        session.execute(update(Item).where(Item.path == "a.jpg").values(width=None, height=None))
        session.execute(update(Item).where(Item.path == "a.png").values(path="b.png"))
    files = export_files(client, made, "voc", {}, tmp_path)
    size = parse_xml(files["Annotations/a.xml"]).find("size")
    assert size is not None and [(element.tag, element.text) for element in size] == [
        ("width", "8"), ("height", "8"), ("depth", "3"),
    ]  # fmt: skip
    assert voc_boxes(files["Annotations/a.xml"]) == [("cat", 2, 2, 5, 5)]
    (made.root / "a.jpg").unlink()  # and a file gone leaves a box with no size: YOLO cannot normalize it
    message = failed_export(client, made, "yolo")
    assert "item 'a.jpg'" in message and "never read its image's size" in message
