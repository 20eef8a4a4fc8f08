"""YOLO, for object detection, in the Ultralytics layout: a text file of normalized boxes per labeled
image, streamed. The layout:

    data.yaml               Ultralytics' dataset file: train, val, nc and names (index → class name)
    classes.txt             the project's classes, one a line: line i (from 0) is class index i
    labels/<path>.txt       per labeled item, its path's folders kept, its extension replaced
    images.txt              the URLs of the labeled items, in export order
    train.txt, val.txt      with validation_share > 0: `./images/<path>` of each labeled item, by split
    unlabeled.txt           with items=all: the URLs of items without a label that counts

A label file holds one line per box, `class_index cx cy w h`: the box's centre, width and height as
fractions of the image's width and height (0 to 1, 6 decimals), origin at the top-left corner. An item
labeled with no boxes gets an empty file (a background image); an item without a label that counts gets
none, and is listed in no image list, so that it is never taken for background.

To train, put each image at `images/<its path>` beside `labels/`: Ultralytics finds an image's labels by
replacing `images` with `labels` in its path. data.yaml has no `path`, so Ultralytics resolves the lists
from the file's own folder; without a split, train and val are both the `images` folder. Normalizing needs
the image's size, which Tessera reads when a box is labeled: an item with boxes whose size is unknown (its
file was unreadable then) fails the export, naming it. Boxes of a class deleted from the project since are
left out. Two items whose paths differ only in extension would share a label file: the export fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tessera.core.errors import Invalid
from tessera.formats.records import ExportRecord, ExportSource, Tally
from tessera.formats.voc import open_split_files, open_unlabeled_list, sidecar_path, write_lines


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    indices = {name: index for index, name in enumerate(source.class_names)}
    split = source.options.validation_share > 0
    write_lines(folder / "classes.txt", source.class_names)
    (folder / "data.yaml").write_text(data_yaml(source.class_names, split=split), encoding="utf-8")
    tally = Tally(progress)
    with ExitStack() as stack:
        images = stack.enter_context((folder / "images.txt").open("w", encoding="utf-8"))
        splits = open_split_files(stack, folder, split)
        unlabeled = open_unlabeled_list(stack, folder, source.options.items == "all")
        for record in source.records():
            if record.label is None:
                if unlabeled is not None:
                    unlabeled.write(f"{record.url}\n")
            else:
                lines = label_lines(record, indices)
                write_lines(sidecar_path(folder, "labels", record.path, ".txt"), lines)
                images.write(f"{record.url}\n")
                if record.split in splits:
                    splits[record.split].write(f"./images/{record.path}\n")
            tally.add()
    return tally.count


def data_yaml(class_names: list[str], *, split: bool) -> str:
    """Ultralytics' dataset file; names are JSON strings, which YAML reads as double-quoted scalars."""
    train, val = ("train.txt", "val.txt") if split else ("images", "images")
    names = "".join(
        f"  {index}: {json.dumps(name, ensure_ascii=False)}\n" for index, name in enumerate(class_names)
    )
    return (
        "# Tessera YOLO export: put each image at images/<its path>; images.txt lists their URLs.\n"
        f"train: {train}\nval: {val}\nnc: {len(class_names)}\nnames:\n{names}"
    )


def label_lines(record: ExportRecord, indices: dict[str, int]) -> list[str]:
    boxes = [box for box in (record.label or {}).get("boxes", []) if box["class"] in indices]
    if not boxes:
        return []
    if not record.width or not record.height:
        raise Invalid(
            f"item {record.path!r} (id {record.item_id}) has boxes but Tessera never read its image's size "
            "(its file could not be read when it was labeled); YOLO needs it to normalize the boxes",
            field="path",
        )
    return [_line(box, indices[box["class"]], record.width, record.height) for box in boxes]


def _line(box: dict[str, Any], index: int, width: int, height: int) -> str:
    centre_x = (box["x"] + box["width"] / 2) / width
    centre_y = (box["y"] + box["height"] / 2) / height
    values = (centre_x, centre_y, box["width"] / width, box["height"] / height)
    return " ".join([str(index), *(f"{value:.6f}" for value in values)])
