"""JSON Lines, for every task type: `labels.jsonl`, one JSON object per item, UTF-8 (not ASCII-escaped),
streamed. Every line has the same keys, in this order:

- `item_id`, `path` (in the datastore), `url` (file://, s3://, gs://, https:// or az://);
- `text` (text projects) or `width`, `height` (image projects; null when the size was never read);
- `label`: the label that counts exactly as the API shows it — `{"classes": [name, ...]}`,
  `{"boxes": [{"class", "x", "y", "width", "height"}]}` in pixels, `{"polygons": [{"class", "points"}]}`,
  `{"mask_png": base64 PNG, "classes": [name, ...]}` (pixel k ≥ 1 → classes[k-1]) or
  `{"spans": [{"start", "end", "class"}]}` in characters (code points, end exclusive); null when the item
  has none (items=all);
- `label_source` (single, consensus or review), `agreement`;
- with `validation_share` > 0, `split` (train or validation); with `include_prelabels`, `prelabel` (the
  same shape as `label`) and `prelabel_confidence`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tessera.formats.records import ExportRecord, ExportSource, Tally

FILE_NAME = "labels.jsonl"


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    tally = Tally(progress)
    with (folder / FILE_NAME).open("w", encoding="utf-8", newline="\n") as handle:
        for record in source.records():
            handle.write(json.dumps(line(record, source), ensure_ascii=False, allow_nan=False) + "\n")
            tally.add()
    return tally.count


def line(record: ExportRecord, source: ExportSource) -> dict[str, Any]:
    """One item's object, as written."""
    value: dict[str, Any] = {"item_id": record.item_id, "path": record.path, "url": record.url}
    if source.task_type.media == "text":
        value["text"] = record.text
    else:
        value["width"], value["height"] = record.width, record.height
    value |= {"label": record.label, "label_source": record.label_source, "agreement": record.agreement}
    if source.options.validation_share > 0:
        value["split"] = record.split
    if source.options.include_prelabels:
        value |= {"prelabel": record.prelabel, "prelabel_confidence": record.prelabel_confidence}
    return value
