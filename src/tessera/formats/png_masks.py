"""PNG masks, for semantic segmentation: a zip of

- `masks/<item path, its suffix replaced by .png>`: one PNG per labeled item, exactly the image's size, each
  pixel the project index of its class — 1..K in the order of the project's classes (`classes.csv`), 0 for
  no class. 8-bit grayscale; 16-bit grayscale when the project has more than 255 classes. Each stored mask
  indexes its own list of classes, so its values are re-mapped to the project's order here; a pixel of a
  class deleted from the project since becomes 0. Two items whose paths differ only by the suffix (`a.jpg`,
  `a.png`): the second is `masks/a-<item_id>.png`. `index.csv` always names the file.
- `classes.csv`: `index,name`, a row per project class, from 1.
- `index.csv`: a row per item: `item_id`, `path`, `url`, `mask` (the mask's path in the zip; empty when the
  item has no label that counts, with items=all), `label_source`, `agreement`, and with the options
  `split`, `prelabel` (the pre-filled mask, under `prelabels/`) and `prelabel_confidence`.

`class_lookup`, `project_mask` and `write_mask` are shared with the MLTable and Parquet writers.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from tessera.formats.csv_rows import number_cell, option_columns
from tessera.formats.records import ExportRecord, ExportSource, Tally

MASKS = "masks"
PRELABELS = "prelabels"
CLASSES_FILE = "classes.csv"
INDEX_FILE = "index.csv"
EIGHT_BIT_CLASSES = 255


def class_lookup(class_names: list[str]) -> dict[str, int]:
    """Each project class's pixel value: its position in the project's order, from 1."""
    return {name: index for index, name in enumerate(class_names, start=1)}


def project_mask(label: Mapping[str, Any], lookup: Mapping[str, int]) -> bytes:
    """The label's mask as a PNG of project class indices (see the module's docstring)."""
    with Image.open(io.BytesIO(base64.b64decode(label["mask_png"])), formats=["PNG"]) as image:
        local = np.asarray(image, dtype=np.uint8)
    wide = len(lookup) > EIGHT_BIT_CLASSES
    remap = np.zeros(256, dtype=np.uint16 if wide else np.uint8)
    for value, name in enumerate(label.get("classes") or [], start=1):
        remap[value] = lookup.get(name, 0) if name is not None else 0  # None: the class was deleted
    output = io.BytesIO()
    Image.fromarray(remap[local]).save(output, format="PNG")
    return output.getvalue()


def _relative_path(root: str, item_path: str, item_id: int, folder: Path) -> str:
    """Where an item's mask goes under `root`, as a posix path relative to `folder`; never outside it."""
    parts = [part for part in PurePosixPath(item_path).parts if part not in ("/", ".", "..")]
    stem = PurePosixPath(root, *parts) if parts else PurePosixPath(root, str(item_id))
    name = stem.with_suffix(".png")
    if (folder / name).exists():  # an item whose path differs only by its suffix came first
        name = name.with_name(f"{name.stem}-{item_id}.png")
    return name.as_posix()


def write_mask(
    folder: Path, record: ExportRecord, label: Mapping[str, Any] | None, lookup: Mapping[str, int], root: str
) -> str | None:
    """Write the label's mask under `folder/root`, re-mapped to project indices: its relative path, or None
    for no label."""
    if label is None:
        return None
    relative = _relative_path(root, record.path, record.item_id, folder)
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(project_mask(label, lookup))
    return relative


def write_classes(folder: Path, class_names: list[str]) -> None:
    with (folder / CLASSES_FILE).open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["index", "name"])
        out.writerows((index, name) for name, index in class_lookup(class_names).items())


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    options, lookup = source.options, class_lookup(source.class_names)
    write_classes(folder, source.class_names)
    header = ["item_id", "path", "url", "mask", "label_source", "agreement", *option_columns(options)]
    tally = Tally(progress)
    with (folder / INDEX_FILE).open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for record in source.records():
            mask = write_mask(folder, record, record.label, lookup, MASKS)
            row: list[Any] = [record.item_id, record.path, record.url, mask or "", record.label_source or ""]
            row.append(number_cell(record.agreement))
            if options.validation_share > 0:
                row.append(record.split)
            if options.include_prelabels:
                prelabel = write_mask(folder, record, record.prelabel, lookup, PRELABELS)
                row += [prelabel or "", number_cell(record.prelabel_confidence)]
            out.writerow(row)
            tally.add()
    return tally.count
