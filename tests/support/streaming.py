"""Checking that an export writer streams: a stand-in source of many detection records made as they are
read, and the writer's peak memory (tracemalloc) against what holding every record would take."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tessera.formats.records import ExportOptions, ExportRecord
from tessera.projects.models import TaskType


@dataclass
class ManyDetections:
    """A stand-in for ExportSource: `count` object-detection records of five boxes, none kept."""

    count: int
    options: ExportOptions = field(default_factory=ExportOptions)
    task_type: TaskType = TaskType.object_detection
    class_names: list[str] = field(default_factory=lambda: ["cat", "dog", "bird"])
    project: Any = field(default_factory=lambda: SimpleNamespace(name="Many"))
    snapshot_at: Any = None

    def records(self) -> Iterator[ExportRecord]:
        for index in range(1, self.count + 1):
            boxes = [
                {"class": name, "x": index % 50 + shift, "y": 3.5 * shift, "width": 20.25, "height": 10}
                for shift, name in enumerate(["cat", "dog", "bird", "cat", "dog"])
            ]
            split = ("train" if index % 5 else "validation") if self.options.validation_share else None
            yield ExportRecord(
                item_id=index, path=f"images/{index:06d}.jpg", row_index=0,
                url=f"s3://bucket/images/{index:06d}.jpg", text=None, width=640, height=480, state="labeled",
                label={"boxes": boxes}, label_source="single", agreement=None, split=split,
            )  # fmt: skip


@dataclass(frozen=True)
class Measured:
    written: int
    reports: list[int]  # the progress the writer reported
    peak: int  # bytes at the writer's peak
    holding: int  # bytes the records take when all held at once


def measure_writer(write: Callable[..., int], source: ManyDetections, folder: Path) -> Measured:
    tracemalloc.start()
    try:
        held = list(source.records())
        _, holding = tracemalloc.get_traced_memory()
        del held
        tracemalloc.reset_peak()
        reports: list[int] = []
        written = write(source, folder, reports.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Measured(written, reports, peak, holding)
