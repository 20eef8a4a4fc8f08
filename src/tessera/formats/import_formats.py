"""The import formats: each a name, the task types it reads labels of, and its reader
(`read(data, task_type, options) -> ParsedFile`: every record and every problem of the file)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tessera.core.errors import Invalid
from tessera.formats.import_records import ParsedFile, ReadOptions
from tessera.formats.readers_images import read_coco
from tessera.formats.readers_label_studio import read_label_studio
from tessera.formats.readers_mltable import read_mltable
from tessera.formats.readers_text import read_conll, read_csv, read_jsonl
from tessera.projects.models import TaskType

Reader = Callable[[bytes, TaskType, ReadOptions], ParsedFile]
IMAGE_CLASSES = (TaskType.image_classification_multiclass, TaskType.image_classification_multilabel)
REGIONS = (TaskType.object_detection, TaskType.instance_segmentation)
NOT_MASKS = tuple(task_type for task_type in TaskType if task_type != TaskType.semantic_segmentation)


@dataclass(frozen=True)
class ImportFormat:
    name: str
    task_types: tuple[TaskType, ...]
    reader: Reader


IMPORT_FORMATS: dict[str, ImportFormat] = {
    fmt.name: fmt
    for fmt in (
        ImportFormat("coco", (*IMAGE_CLASSES, *REGIONS, TaskType.semantic_segmentation), read_coco),
        ImportFormat("mltable", NOT_MASKS, read_mltable),
        ImportFormat("csv", tuple(TaskType), read_csv),
        ImportFormat("jsonl", tuple(TaskType), read_jsonl),
        ImportFormat("conll", (TaskType.text_ner,), read_conll),
        ImportFormat("label_studio", tuple(TaskType), read_label_studio),
    )
}


def get_import_format(name: str, task_type: TaskType) -> ImportFormat:
    fmt = IMPORT_FORMATS.get(name)
    if fmt is None or task_type not in fmt.task_types:
        usable = [entry.name for entry in IMPORT_FORMATS.values() if task_type in entry.task_types]
        raise Invalid(
            f"{name!r} is not an import format for {task_type.value}; choose one of {', '.join(usable)}",
            field="format",
        )
    return fmt
