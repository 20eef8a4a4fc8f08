"""Pascal VOC, for object detection: one XML file of boxes per labeled image, streamed. The layout:

    labels.txt                        the project's classes, one a line, in order
    Annotations/<path>.xml            per labeled item, its path's folders kept, its extension replaced
    ImageSets/Main/train.txt, val.txt with validation_share > 0: the ids (paths without extension) of each
    unlabeled.txt                     with items=all: the paths of items without a label that counts

Each XML file:

    <annotation>
      <folder>sub</folder> <filename>c.png</filename> <path>sub/c.png</path> <url>file:///…/sub/c.png</url>
      <tessera_item_id>7</tessera_item_id>
      <source><database>Tessera</database></source>
      <size><width>64</width><height>48</height><depth>3</depth></size>
      <segmented>0</segmented>
      <object><name>cat</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
        <bndbox><xmin>11</xmin><ymin>6</ymin><xmax>30</xmax><ymax>25</ymax></bndbox></object> ...
    </annotation>

Coordinates are VOC's: 1-based pixel indices, inclusive at both ends, whole numbers. A Tessera box covers
[x, x + width) × [y, y + height) in continuous pixels from 0, so xmin = x + 1, ymin = y + 1, xmax = x + width,
ymax = y + height (fractional edges rounded half up first): a box over a whole W×H image is (1, 1, W, H),
which is how the VOC devkit and Detectron2 read it back (they subtract 1 from xmin and ymin only).

An item labeled with no boxes gets a file without objects (a background image); an item without a label
that counts gets no file, so that it is never taken for background. `<size>` lacks width and height when
Tessera never read the image's size (its file was unreadable when labeled). Boxes of a class deleted from
the project since are left out. Two items whose paths differ only in extension (a.png, a.jpg) would share
one file: the export fails and names them."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from tessera.core.errors import Invalid
from tessera.formats.records import ExportRecord, ExportSource, Tally
from tessera.storage.paths import clean_path

SPLIT_FILES = {"train": "train.txt", "validation": "val.txt"}


def sidecar_path(folder: Path, top: str, item_path: str, suffix: str) -> Path:
    """Where the file about an item goes: `<folder>/<top>/<item path, extension replaced by suffix>`;
    `Invalid` when another item already took it (same path but for the extension)."""
    relative = PurePosixPath(clean_path(item_path, field="path"))
    target = folder.joinpath(top, *relative.with_suffix(suffix).parts)
    if target.exists():
        raise Invalid(
            f"item {item_path!r} and another item with the same path but another extension would both "
            f"be written to {target.relative_to(folder).as_posix()}; rename one of the files",
            field="path",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def open_split_files(stack: ExitStack, folder: Path, enabled: bool) -> dict[str, TextIO]:
    """train/val list files (both, even when one stays empty), opened for the export's length."""
    if not enabled:
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    return {
        split: stack.enter_context((folder / name).open("w", encoding="utf-8"))
        for split, name in SPLIT_FILES.items()
    }


def open_unlabeled_list(stack: ExitStack, folder: Path, enabled: bool) -> TextIO | None:
    """`unlabeled.txt` (items=all): the items without a label, which get no label file — an empty one
    would say "background"."""
    return stack.enter_context((folder / "unlabeled.txt").open("w", encoding="utf-8")) if enabled else None


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    known = set(source.class_names)
    write_lines(folder / "labels.txt", source.class_names)
    tally = Tally(progress)
    with ExitStack() as stack:
        splits = open_split_files(stack, folder / "ImageSets" / "Main", source.options.validation_share > 0)
        unlabeled = open_unlabeled_list(stack, folder, source.options.items == "all")
        for record in source.records():
            if record.label is None:
                if unlabeled is not None:
                    unlabeled.write(f"{record.path}\n")
            else:
                target = sidecar_path(folder, "Annotations", record.path, ".xml")
                element = annotation_element(record, known)
                ET.indent(element)
                target.write_text(ET.tostring(element, encoding="unicode") + "\n", encoding="utf-8")
                if record.split in splits:
                    splits[record.split].write(f"{PurePosixPath(record.path).with_suffix('')}\n")
            tally.add()
    return tally.count


def annotation_element(record: ExportRecord, known: set[str]) -> ET.Element:
    path = PurePosixPath(record.path)
    root = ET.Element("annotation")
    _text(root, "folder", "" if str(path.parent) == "." else str(path.parent))
    _text(root, "filename", path.name)
    _text(root, "path", record.path)
    _text(root, "url", record.url)
    _text(root, "tessera_item_id", record.item_id)
    _text(ET.SubElement(root, "source"), "database", "Tessera")
    size = ET.SubElement(root, "size")
    if record.width and record.height:
        _text(size, "width", record.width)
        _text(size, "height", record.height)
    _text(size, "depth", 3)
    _text(root, "segmented", 0)
    for box in (record.label or {}).get("boxes", []):
        if box["class"] in known:
            root.append(_object(box))
    return root


def _object(box: dict[str, Any]) -> ET.Element:
    element = ET.Element("object")
    _text(element, "name", box["class"])
    _text(element, "pose", "Unspecified")
    _text(element, "truncated", 0)
    _text(element, "difficult", 0)
    bndbox = ET.SubElement(element, "bndbox")
    left, top = _half_up(box["x"]), _half_up(box["y"])
    _text(bndbox, "xmin", left + 1)
    _text(bndbox, "ymin", top + 1)
    _text(bndbox, "xmax", _half_up(box["x"] + box["width"]))
    _text(bndbox, "ymax", _half_up(box["y"] + box["height"]))
    return element


def _half_up(value: float) -> int:
    """The nearest whole number, halves rounded up (monotone, unlike round()'s halves to even)."""
    return math.floor(value + 0.5)


def _text(parent: ET.Element, tag: str, value: object) -> None:
    ET.SubElement(parent, tag).text = str(value)
