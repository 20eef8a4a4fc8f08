"""What an export reads: the project's items with their labels, as one consistent snapshot (one read
transaction, REPEATABLE READ on PostgreSQL; SQLite's WAL gives a read transaction its snapshot), streamed
in pages of item ids so that memory stays flat at any size. Labels come rendered with class names, as the
API shows them; the URL of each item's file is built from its datastore's config."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Invalid, TesseraError
from tessera.core.settings import Settings
from tessera.ingest.models import Dataset, Datastore, ProjectData
from tessera.ingest.service import open_datastore
from tessera.items.models import Item, ItemState
from tessera.labels.models import Prelabel
from tessera.labels.validation import render_label
from tessera.projects.models import Project, TaskType
from tessera.review.models import ItemLabel, LabelSource
from tessera.storage.urls import file_url

PAGE = 1000
PROGRESS_EVERY = 1000  # records (or documents) a writer writes between two progress reports
WHICH = ("final", "all")


@dataclass(frozen=True)
class ExportOptions:
    """`items`: final — items with a label that counts (labeled, consensus or set in review); all — every
    item of the project but removed ones, labeled or not. `consensus_only`: only labels the labelers
    agreed on. `include_prelabels`: each record carries the item's pre-filled label and its confidence.
    `validation_share` > 0: a `split` column, train or validation, drawn per item from `seed` (the same
    seed gives the same split in every export)."""

    items: str = "final"
    consensus_only: bool = False
    include_prelabels: bool = False
    validation_share: float = 0.0
    seed: int = 0

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> ExportOptions:
        known = {"items", "consensus_only", "include_prelabels", "validation_share", "seed"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise Invalid(f"unknown export options {unknown}; known: {sorted(known)}", field="options")
        options = cls(**raw)
        if options.items not in WHICH:
            raise Invalid(f"must be one of {', '.join(WHICH)}", field="options.items")
        if not 0 <= options.validation_share < 1:
            raise Invalid("must be at least 0 and below 1", field="options.validation_share")
        if isinstance(options.seed, bool) or not isinstance(options.seed, int):
            raise Invalid("must be a whole number", field="options.seed")
        return options


@dataclass(frozen=True)
class ExportRecord:
    item_id: int
    path: str  # in the datastore, as the item holds it
    row_index: int  # .csv / .jsonl text items: the row in the file; else 0
    url: str  # where the file is (file://, s3://, gs://, https:// or az://)
    text: str | None
    width: int | None
    height: int | None
    state: str
    label: dict[str, Any] | None  # the label that counts, with class names; None: not labeled
    label_source: str | None  # single, consensus or review
    agreement: float | None
    prelabel: dict[str, Any] | None = None
    prelabel_confidence: float | None = None
    split: str | None = None


@dataclass
class ExportSource:
    """The project as an export sees it; `records()` must be iterated inside the session's transaction."""

    session: Session
    project: Project
    options: ExportOptions
    class_names: list[str] = field(default_factory=list)  # in the project's order: category ids follow it
    snapshot_at: datetime | None = None
    settings: Settings | None = None  # given: image sizes not known yet are read from the files' headers

    @property
    def task_type(self) -> TaskType:
        return TaskType(self.project.task_type)

    def count(self) -> int:
        query = select(func.count()).select_from(Item).where(*self._item_conditions())
        if self.options.items == "final":
            query = query.join(ItemLabel, ItemLabel.item_id == Item.id)
        if self.options.consensus_only:
            query = query.where(ItemLabel.source == LabelSource.consensus)
        return int(self.session.scalar(query) or 0)

    def _item_conditions(self) -> list[Any]:
        return [Item.project_id == self.project.id, Item.state != ItemState.removed]

    def records(self) -> Iterator[ExportRecord]:
        names = {label_class.id: label_class.name for label_class in self.project.label_classes}
        locate, measure = self._locator(), self._measurer()
        after = 0
        while True:
            rows = self.session.execute(self._page(after)).all()
            for row in rows:
                offered = row[2] if self.options.include_prelabels else None
                record = self._record(row[0], row[1], offered, names, locate)
                if record.width is None and measure is not None:
                    size = measure(record.path)
                    if size is not None:
                        record = replace(record, width=size[0], height=size[1])
                yield record
            if len(rows) < PAGE:
                return
            after = rows[-1][0].id
            self.session.expunge_all()  # the identity map would keep every item of the export

    def _page(self, after: int) -> Any:
        join = ItemLabel.item_id == Item.id
        columns: list[Any] = (
            [Item, ItemLabel, Prelabel] if self.options.include_prelabels else [Item, ItemLabel]
        )
        query = select(*columns).where(*self._item_conditions(), Item.id > after)
        query = (
            query.join(ItemLabel, join) if self.options.items == "final" else query.outerjoin(ItemLabel, join)
        )
        if self.options.consensus_only:
            query = query.where(ItemLabel.source == LabelSource.consensus)
        if self.options.include_prelabels:
            query = query.outerjoin(Prelabel, Prelabel.item_id == Item.id)
        return query.order_by(Item.id).limit(PAGE)

    def _datastore(self) -> Datastore | None:
        data = self.session.get(ProjectData, self.project.id)
        dataset = self.session.get(Dataset, data.dataset_id) if data else None
        return self.session.get(Datastore, dataset.datastore_id) if dataset else None

    def _locator(self) -> Any:
        store = self._datastore()
        if store is None:
            return lambda path: path
        kind, config = store.kind, dict(store.config)
        return lambda path: file_url(kind, config, path)

    def _measurer(self) -> Callable[[str], tuple[int, int] | None] | None:
        """Reads an image's size from its file's header (ingest reads sizes only when a shape needs them);
        None for text projects or without settings."""
        row = self._datastore()
        if row is None or self.settings is None or self.task_type.media != "image":
            return None
        try:
            store = open_datastore(row, self.settings)
        except TesseraError:
            return None

        def measure(path: str) -> tuple[int, int] | None:
            try:
                with store.open(path) as handle, Image.open(handle) as image:
                    return int(image.width), int(image.height)
            except (TesseraError, OSError, ValueError, Image.DecompressionBombError):
                return None  # gone or not an image: the record keeps no size

        return measure

    def _record(
        self,
        item: Item,
        decided: ItemLabel | None,
        offered: Prelabel | None,
        names: dict[int, str],
        locate: Any,
    ) -> ExportRecord:
        return ExportRecord(
            item_id=item.id,
            path=item.path,
            row_index=item.row_index,
            url=locate(item.path),
            text=item.text,
            width=item.width,
            height=item.height,
            state=item.state.value,
            label=render_label(decided.payload, names) if decided else None,
            label_source=decided.source.value if decided else None,
            agreement=decided.agreement if decided else None,
            prelabel=render_label(offered.payload, names) if offered else None,
            prelabel_confidence=offered.confidence if offered else None,
            split=self._split(item.id),
        )

    def _split(self, item_id: int) -> str | None:
        share = self.options.validation_share
        if share <= 0:
            return None
        digest = hashlib.sha256(f"{self.options.seed}:{item_id}".encode()).digest()
        return "validation" if int.from_bytes(digest[:8], "big") / 2**64 < share else "train"


class Tally:
    """What a writer has written so far, reported to the job's `progress` every PROGRESS_EVERY."""

    def __init__(self, progress: Callable[[int], None]) -> None:
        self.count = 0
        self._progress = progress

    def add(self) -> None:
        self.count += 1
        if self.count % PROGRESS_EVERY == 0:
            self._progress(self.count)


def start_snapshot(session: Session) -> None:
    """Make the session's transaction one snapshot: call it first, before the transaction's first query.
    PostgreSQL needs REPEATABLE READ for that; SQLite's read transaction in WAL mode is one already."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def open_source(
    session: Session, project: Project, options: ExportOptions, settings: Settings | None = None
) -> ExportSource:
    """The export's view of the project, in a transaction begun with `start_snapshot`; with `settings`,
    image sizes not known yet are read from the files."""
    now = clock.now()
    classes = sorted(project.label_classes, key=lambda label_class: label_class.position)
    names = [label_class.name for label_class in classes]
    return ExportSource(session, project, options, names, now, settings)
