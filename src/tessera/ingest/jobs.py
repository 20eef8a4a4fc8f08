"""The ingest jobs: `ingest.initialize` loads a project's items from its dataset; `ingest.refresh` adds
the files that appeared since, and marks missing the items whose file disappeared."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from tessera.core import clock
from tessera.core.errors import TesseraError
from tessera.ingest.loading import ItemWriter
from tessera.ingest.models import Dataset, DatasetVersion, DataState, Datastore, Media, ProjectData
from tessera.ingest.service import INITIALIZE, REFRESH, open_datastore
from tessera.ingest.sources import ItemSource, read_items, takes
from tessera.items.models import Item, ItemHealth
from tessera.jobs.context import JobContext
from tessera.jobs.registry import job_function
from tessera.projects.models import Project, ProjectStatus
from tessera.storage import Datastore as Store
from tessera.storage import FileEntry

PROGRESS_EVERY_FILES = 5000
MISSING_BATCH = 500


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
    listed: set[str] = field(default_factory=set)

    def admit(self, room: int) -> bool:
        """Count one more item: True if it fits under the cap, else it is counted as left out."""
        if self.items_taken >= room:
            self.items_left_out += 1
            return False
        self.items_taken += 1
        return True


def _plan(context: JobContext) -> Plan:
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


def _new_version(context: JobContext, plan: Plan, reason: str) -> int:
    with context.database.write() as session:
        number = session.scalar(
            select(func.coalesce(func.max(DatasetVersion.number), 0)).where(
                DatasetVersion.dataset_id == plan.dataset_id, DatasetVersion.project_id == plan.project_id
            )
        )
        version = DatasetVersion(
            dataset_id=plan.dataset_id, project_id=plan.project_id, number=int(number or 0) + 1, reason=reason
        )
        session.add(version)
        session.flush()
        return version.id


def _sources(store: Store, plan: Plan, entry: FileEntry) -> Iterator[ItemSource]:
    """The items of a text file."""
    try:
        with store.open(entry.path) as handle:
            yield from read_items(entry.path, handle, plan.text_column)
    except TesseraError as error:
        yield ItemSource(0, None, ItemHealth.broken, f"cannot read the file: {error.message}")
    except OSError as error:
        yield ItemSource(0, None, ItemHealth.broken, f"cannot read the file: {error}")


def _load(
    context: JobContext, store: Store, plan: Plan, writer: ItemWriter, *, room: int, known: set[str] | None
) -> Counts:
    """List the dataset's files and hand their items to `writer`, at most `room` of them; with `known`,
    only files not in it (a refresh), remembering every listed path."""
    counts = Counts()
    try:
        for entry in store.list_files(plan.patterns):
            if not takes(plan.media, entry.path):
                continue
            counts.files_found += 1
            if counts.files_found % PROGRESS_EVERY_FILES == 0:
                context.progress(counts.items_taken, None, f"listed {counts.files_found:,} files")
            if known is not None:
                counts.listed.add(entry.path)
                if entry.path in known:
                    continue
            if plan.media == Media.image:  # the common case, kept free of per-file generators
                if counts.admit(room):
                    writer.add(entry.path, size=entry.size)
                continue
            for source in _sources(store, plan, entry):
                if not counts.admit(room):
                    continue
                writer.add(
                    entry.path,
                    row_index=source.row_index,
                    text=source.text,
                    size=entry.size,
                    health=source.health,
                    reason=source.reason,
                )
    except BaseException:
        with contextlib.suppress(Exception):  # keep what was listed so far; the listing's error wins
            writer.close()
        raise
    writer.close()
    return counts


@job_function(INITIALIZE)
def initialize_project(context: JobContext) -> dict[str, Any]:
    plan = _plan(context)
    store = open_datastore(plan.datastore, context.settings)
    version_id = _new_version(context, plan, "initialization")
    writer = ItemWriter(context.database, plan.project_id, version_id, plan.seed)
    room = int(context.params["max_items"])
    try:
        counts = _load(context, store, plan, writer, room=room, known=None)
    except Exception as error:
        _record_failure(context, plan, f"initialization failed: {error}"[:500])
        raise
    with context.database.write() as session:
        loaded = _count_items(session, plan.project_id)
        _finish_version(session, version_id, writer.inserted)
        session.execute(
            update(ProjectData)
            .where(ProjectData.project_id == plan.project_id)
            .values(
                state=DataState.ready,
                files_found=counts.files_found,
                items_loaded=loaded,
                items_left_out=counts.items_left_out,
                searched=plan.searched,
                message=_summary(counts, loaded, plan),
            )
        )
        session.execute(
            update(Project)
            .where(Project.id == plan.project_id, Project.status == ProjectStatus.initializing)
            .values(status=ProjectStatus.running)
        )
    context.progress(counts.items_taken, counts.items_taken, "done")
    return {
        "files_found": counts.files_found,
        "items_loaded": loaded,
        "items_left_out": counts.items_left_out,
    }


@job_function(REFRESH)
def refresh_project(context: JobContext) -> dict[str, Any]:
    plan = _plan(context)
    try:
        store = open_datastore(plan.datastore, context.settings)
        with context.database.read() as session:
            known = set(
                session.scalars(select(Item.path).where(Item.project_id == plan.project_id).distinct())
            )
            loaded_before = _count_items(session, plan.project_id)
        version_id = _new_version(context, plan, "refresh")
        writer = ItemWriter(context.database, plan.project_id, version_id, plan.seed)
        room = max(0, int(context.params["max_items"]) - loaded_before)
        counts = _load(context, store, plan, writer, room=room, known=known)
        missing = _mark_missing(context, plan.project_id, known - counts.listed)
        with context.database.write() as session:
            loaded = _count_items(session, plan.project_id)
            _finish_version(session, version_id, writer.inserted)
            session.execute(
                update(ProjectData)
                .where(ProjectData.project_id == plan.project_id)
                .values(
                    files_found=counts.files_found,
                    items_loaded=loaded,
                    last_refresh_at=clock.now(),
                    last_refresh_added=writer.inserted,
                    refresh_lease_until=None,
                    items_left_out=ProjectData.items_left_out + counts.items_left_out,
                    message=f"refreshed: {writer.inserted:,} new items, {missing:,} missing files",
                )
            )
    except BaseException:
        _release_lease(context, plan.project_id)
        raise
    return {"items_added": writer.inserted, "items_missing": missing, "items_left_out": counts.items_left_out}


def _mark_missing(context: JobContext, project_id: int, paths: set[str]) -> int:
    marked, batch = 0, sorted(paths)
    reason = f"not in the datastore at the refresh of {clock.now():%Y-%m-%d %H:%M} UTC"
    for start in range(0, len(batch), MISSING_BATCH):
        with context.database.write() as session:
            result = session.execute(
                update(Item)
                .where(
                    Item.project_id == project_id,
                    Item.path.in_(batch[start : start + MISSING_BATCH]),
                    Item.health != ItemHealth.missing,
                )
                .values(health=ItemHealth.missing, health_reason=reason)
            )
            marked += int(result.rowcount)  # type: ignore[attr-defined]
    return marked


def _count_items(session: Any, project_id: int) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id)) or 0
    )


def _finish_version(session: Any, version_id: int, added: int) -> None:
    session.execute(update(DatasetVersion).where(DatasetVersion.id == version_id).values(files_added=added))


def _summary(counts: Counts, loaded: int, plan: Plan) -> str:
    if counts.files_found == 0:
        return f"0 items found: no file matched in {plan.searched}"
    left = f"; {counts.items_left_out:,} left out past the item limit" if counts.items_left_out else ""
    return f"{loaded:,} items loaded from {counts.files_found:,} files{left}"


def _record_failure(context: JobContext, plan: Plan, message: str) -> None:
    with context.database.write() as session:
        session.execute(
            update(ProjectData)
            .where(ProjectData.project_id == plan.project_id)
            .values(state=DataState.failed, message=message)
        )


def _release_lease(context: JobContext, project_id: int) -> None:
    with context.database.write() as session:
        session.execute(
            update(ProjectData).where(ProjectData.project_id == project_id).values(refresh_lease_until=None)
        )
