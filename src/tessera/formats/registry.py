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


EXPORT_FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in (
        ExportFormat(
            "csv",
            EVERY,
            "CSV: one row per item with its path, URL and label (shapes and spans as JSON)",
            "csv_rows",
        ),
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
