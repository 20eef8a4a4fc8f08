"""CSV, for every task type: one row per item, streamed. Columns: `item_id`, `path`, `url`, `text` (text
projects), the label (`label`: the class name of a multi-class item; `labels`: a JSON list of names for
multi-label; `annotations`: a JSON object with the boxes, polygons, mask or spans otherwise), `label_source`,
`agreement`, and with the options `split`, `prelabel` (JSON) and `prelabel_confidence`. An item without a
label that counts (items=all) has empty label cells."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tessera.formats.records import ExportOptions, ExportRecord, ExportSource, Tally
from tessera.projects.models import TaskType

FILE_NAME = "labels.csv"


def label_column(task_type: TaskType) -> str:
    if task_type.value.endswith("multiclass"):
        return "label"
    if task_type.value.endswith("multilabel"):
        return "labels"
    return "annotations"


def label_cell(task_type: TaskType, label: dict[str, Any] | None) -> str:
    if label is None:
        return ""
    if task_type.value.endswith("multiclass"):
        return str(label["classes"][0]) if label.get("classes") else ""
    if task_type.value.endswith("multilabel"):
        return json.dumps(label.get("classes", []), ensure_ascii=False)
    return json.dumps(label, ensure_ascii=False, separators=(",", ":"))


def option_columns(options: ExportOptions) -> list[str]:
    """The columns the options add at the end of a CSV row (this file's and the PNG masks' index)."""
    columns = ["split"] if options.validation_share > 0 else []
    if options.include_prelabels:
        columns += ["prelabel", "prelabel_confidence"]
    return columns


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    task_type, options = source.task_type, source.options
    header = ["item_id", "path", "url"]
    if task_type.media == "text":
        header.append("text")
    header += [label_column(task_type), "label_source", "agreement", *option_columns(options)]
    tally = Tally(progress)
    with (folder / FILE_NAME).open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for record in source.records():
            out.writerow(_row(record, task_type, source))
            tally.add()
    return tally.count


def _row(record: ExportRecord, task_type: TaskType, source: ExportSource) -> list[Any]:
    row: list[Any] = [record.item_id, record.path, record.url]
    if task_type.media == "text":
        row.append(record.text or "")
    row += [label_cell(task_type, record.label), record.label_source or "", number_cell(record.agreement)]
    if source.options.validation_share > 0:
        row.append(record.split)
    if source.options.include_prelabels:
        prelabel = json.dumps(record.prelabel, ensure_ascii=False) if record.prelabel else ""
        row += [prelabel, number_cell(record.prelabel_confidence)]
    return row


def number_cell(value: float | None) -> str:
    """A confidence or agreement as a CSV cell: empty when unknown, else at most 6 decimals."""
    return "" if value is None else repr(round(value, 6))
