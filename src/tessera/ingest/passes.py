"""One loading pass over a dataset, shared by initialization and refresh: read the plan once, list the
files the dataset's media takes, and hand their items to an `ItemWriter` under the item cap."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select

from tessera.core.errors import TesseraError
from tessera.ingest.loading import ItemWriter
from tessera.ingest.models import Dataset, DatasetVersion, Datastore, Media, ProjectData
from tessera.ingest.sources import ItemSource, read_items, suffixes
from tessera.items.models import ItemHealth
from tessera.jobs.context import JobContext
from tessera.storage import Datastore as Store

PROGRESS_EVERY_FILES = 5000
UNREADABLE_NAME = (
    "the file name is not valid UTF-8 (shown here with U+FFFD in place of the bad bytes), so Tessera "
    "cannot store or serve it: rename the file and refresh"
)

ListedFile = tuple[str, int | None]  # path, size where the listing gave it


@dataclass
class Plan:
    """What one loading pass needs, read once from the database."""

    project_id: int
    dataset_id: int
    seed: int
    media: Media
    patterns: list[str]
    text_column: str | None
    datastore: Datastore
    searched: str


@dataclass
class Counts:
    files_found: int = 0
    items_taken: int = 0  # rows handed to the writer (new or already there)
    items_left_out: int = 0
    # Listed names that are not valid UTF-8 (a local folder's bytes), as stored: with U+FFFD for the bad
    # bytes. Their items are marked broken; the same name each pass, so a refresh knows them.
    unreadable_names: set[str] = field(default_factory=set)

    def admit(self, room: int) -> bool:
        """Count one more item: True if it fits under the cap, else it is counted as left out."""
        if self.items_taken >= room:
            self.items_left_out += 1
            return False
        self.items_taken += 1
        return True

    def admit_many(self, page: list[ListedFile], room: int) -> list[ListedFile]:
        """The files of `page` that fit under the cap (one item each); the rest are counted as left out."""
        fits = page[: max(0, room - self.items_taken)]
        self.items_taken += len(fits)
        self.items_left_out += len(page) - len(fits)
        return fits


def read_plan(context: JobContext) -> Plan:
    project_id = context.project_id
    if project_id is None:
        raise TesseraError("an ingest job needs a project")
    with context.database.read() as session:
        data = session.get(ProjectData, project_id)
        if data is None:
            raise TesseraError(f"project {project_id} has no dataset")
        dataset = session.get(Dataset, data.dataset_id)
        datastore = session.get(Datastore, dataset.datastore_id) if dataset else None
        if dataset is None or datastore is None:
            raise TesseraError(f"the dataset of project {project_id} is gone")
        searched = f"datastore {datastore.name!r} ({datastore.kind}), patterns {', '.join(dataset.patterns)}"
        return Plan(
            project_id,
            dataset.id,
            data.seed,
            dataset.media,
            list(dataset.patterns),
            dataset.text_column,
            datastore,
            searched,
        )


def open_version(context: JobContext, plan: Plan, reason: str) -> int:
    """The version this pass records. A retried initialization goes on with its first version."""
    with context.database.write() as session:
        mine = (DatasetVersion.dataset_id == plan.dataset_id, DatasetVersion.project_id == plan.project_id)
        if reason == "initialization":
            existing = session.scalar(select(DatasetVersion.id).where(*mine, DatasetVersion.reason == reason))
            if existing is not None:
                return existing
        number = session.scalar(select(func.coalesce(func.max(DatasetVersion.number), 0)).where(*mine))
        version = DatasetVersion(
            dataset_id=plan.dataset_id, project_id=plan.project_id, number=int(number or 0) + 1, reason=reason
        )
        session.add(version)
        session.flush()
        return version.id


def dataset_pages(
    context: JobContext, store: Store, plan: Plan, counts: Counts
) -> Iterator[list[ListedFile]]:
    """The dataset's files that its media takes, a page at a time, counted, with progress. (Listing in a
    child process while this one inserts was measured slower on two cores: the pages' trip through a
    pipe cost more than the listing it took off this thread.)"""
    return _counted(context, counts, store.list_path_pages(plan.patterns, suffixes(plan.media)))


def _counted(
    context: JobContext, counts: Counts, pages: Iterable[list[ListedFile]]
) -> Iterator[list[ListedFile]]:
    reported = 0
    for page in pages:
        counts.files_found += len(page)
        page = _readable_names(page, counts.unreadable_names)
        if counts.files_found - reported >= PROGRESS_EVERY_FILES:
            reported = counts.files_found
            context.progress(counts.items_taken, None, f"listed {counts.files_found:,} files")
        yield page


def _readable_names(page: list[ListedFile], unreadable: set[str]) -> list[ListedFile]:
    """The page with every name storable as UTF-8. A local folder's listing gives a name that is not
    valid UTF-8 with surrogate escapes (PEP 383), which no database takes: one check per page finds
    them (the common case costs one encode), and each becomes its replacement-character form."""
    try:
        "\n".join(path for path, _ in page).encode()
    except UnicodeEncodeError:
        pass
    else:
        return page
    fixed: list[ListedFile] = []
    for path, size in page:
        try:
            path.encode()
        except UnicodeEncodeError:
            path = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            unreadable.add(path)
        fixed.append((path, size))
    return fixed


def write_items(
    store: Store,
    plan: Plan,
    writer: ItemWriter,
    counts: Counts,
    pages: Iterable[list[ListedFile]],
    *,
    room: int,
) -> None:
    """Hand the items of the listed pages to `writer`, at most `room` of them, and close it."""
    try:
        for page in pages:
            if counts.unreadable_names:
                page = _without_unreadable(page, writer, counts, room)
            if plan.media == Media.image:  # the common case: a file is an item, a page is written at once
                writer.add_files(counts.admit_many(page, room))
                continue
            for path, size in page:
                for source in _sources(store, plan, path):
                    if counts.admit(room):
                        writer.add(
                            path,
                            row_index=source.row_index,
                            text=source.text,
                            size=size,
                            health=source.health,
                            reason=source.reason,
                        )
    except BaseException:
        with contextlib.suppress(Exception):  # keep what was listed so far; the listing's error wins
            writer.close()
        raise
    writer.close()


def _without_unreadable(
    page: list[ListedFile], writer: ItemWriter, counts: Counts, room: int
) -> list[ListedFile]:
    """The page less its files with unreadable names, each of which becomes a broken item (never opened)."""
    kept: list[ListedFile] = []
    for path, size in page:
        if path not in counts.unreadable_names:
            kept.append((path, size))
        elif counts.admit(room):
            writer.add(path, size=size, health=ItemHealth.broken, reason=UNREADABLE_NAME)
    return kept


def _sources(store: Store, plan: Plan, path: str) -> Iterator[ItemSource]:
    """The items of a text file."""
    try:
        with store.open(path) as handle:
            yield from read_items(path, handle, plan.text_column)
    except TesseraError as error:
        yield ItemSource(0, None, ItemHealth.broken, f"cannot read the file: {error.message}")
    except OSError as error:
        yield ItemSource(0, None, ItemHealth.broken, f"cannot read the file: {error}")
