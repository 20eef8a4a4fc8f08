"""The export formats: each a name, the task types it serves, a one-line description and its writer,
imported only when an export in that format runs (pyarrow, spaCy and friends stay unloaded otherwise).

A writer is `write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int`: it writes
its files into `folder` (a fresh temporary folder), streaming `source.records()`, calls `progress(n)` now
and then with the records written so far, and returns how many it wrote. The export job then delivers the
folder: its one file as it is, or several as a zip."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tessera.core.errors import Invalid
from tessera.projects.models import TaskType

if TYPE_CHECKING:
    from tessera.formats.records import ExportSource

Writer = Callable[["ExportSource", Path, Callable[[int], None]], int]

IMAGE_CLASSES = (TaskType.image_classification_multiclass, TaskType.image_classification_multilabel)
TEXT_CLASSES = (TaskType.text_classification_multiclass, TaskType.text_classification_multilabel)
EVERY = tuple(TaskType)


@dataclass(frozen=True)
class ExportFormat:
    name: str
    task_types: tuple[TaskType, ...]
    summary: str
    module: str  # tessera.formats.<module>
    function: str = "write"

    def writer(self) -> Writer:
        writer: Writer = getattr(importlib.import_module(f"tessera.formats.{self.module}"), self.function)
        return writer


REGIONS = (TaskType.object_detection, TaskType.instance_segmentation)
COCO_TYPES = (*IMAGE_CLASSES, *REGIONS, TaskType.semantic_segmentation)

EXPORT_FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in (
        ExportFormat(
            "csv", EVERY, "CSV: a row per item, its path, URL and label (shapes, spans as JSON)", "csv_rows"
        ),
        ExportFormat(
            "coco",
            COCO_TYPES,
            "COCO JSON: images, categories, annotations (boxes, polygons, RLE masks)",
            "coco",
        ),
        ExportFormat(
            "voc", (TaskType.object_detection,), "Pascal VOC: one XML file of boxes per image", "voc"
        ),
        ExportFormat(
            "yolo", (TaskType.object_detection,), "YOLO: a text file of normalized boxes per image", "yolo"
        ),
        ExportFormat(
            "mltable",
            EVERY,
            "MLTable: JSON Lines in the labeled-dataset layout, with an MLTable file",
            "mltable",
        ),
        ExportFormat("parquet", EVERY, "Parquet: a row per item, typed columns", "parquet"),
        ExportFormat(
            "jsonl", EVERY, "JSON Lines: a record per item, labels as objects (spans by character)", "jsonl"
        ),
        ExportFormat(
            "png_masks",
            (TaskType.semantic_segmentation,),
            "PNG masks (class index per pixel) with a CSV index",
            "png_masks",
        ),
        ExportFormat("conll", (TaskType.text_ner,), "CoNLL: a token per line with BIO tags", "conll"),
        ExportFormat(
            "spacy", (TaskType.text_ner, *TEXT_CLASSES), "spaCy DocBin (.spacy) for training", "spacy_docbin"
        ),
        ExportFormat("label_studio", EVERY, "Label Studio JSON tasks, to import there", "label_studio"),
    )
}


def export_formats_for(task_type: TaskType) -> list[ExportFormat]:
    return [fmt for fmt in EXPORT_FORMATS.values() if task_type in fmt.task_types]


def get_export_format(name: str, task_type: TaskType) -> ExportFormat:
    fmt = EXPORT_FORMATS.get(name)
    usable = [entry.name for entry in export_formats_for(task_type)]
    if fmt is None or task_type not in fmt.task_types:
        raise Invalid(
            f"{name!r} is not an export format for {task_type.value}; choose one of {', '.join(usable)}",
            field="format",
        )
    return fmt
