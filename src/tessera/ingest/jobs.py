"""The ingest jobs: `ingest.initialize` loads a project's items from its dataset; `ingest.refresh` adds
the files that appeared since, marks missing the items whose file disappeared (and ok again those whose
file came back). Each pass ends by putting its new items into the project's labeling order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from tessera.core import clock
from tessera.core.gc_pause import collector_paused
from tessera.ingest.known import KnownPaths
from tessera.ingest.loading import ItemWriter, last_item_id, write_order
from tessera.ingest.models import DatasetVersion, DataState, ProjectData
from tessera.ingest.passes import Counts, Plan, dataset_pages, open_version, read_plan, write_items
from tessera.ingest.service import INITIALIZE, REFRESH, open_datastore
from tessera.items.models import Item, ItemHealth
from tessera.jobs.context import JobContext
from tessera.jobs.registry import job_function
from tessera.projects.models import Project, ProjectStatus

HEALTH_BATCH = 500


@job_function(INITIALIZE)
def initialize_project(context: JobContext) -> dict[str, Any]:
    with collector_paused():  # millions of small tuples, no cycles: see core/gc_pause.py
        return _initialize(context)


def _initialize(context: JobContext) -> dict[str, Any]:
    plan = read_plan(context)
    store = open_datastore(plan.datastore, context.settings)
    version_id = open_version(context, plan, "initialization")
    writer = ItemWriter(context.database, plan.project_id, version_id, plan.seed)
    room, counts = int(context.params["max_items"]), Counts()
    try:
        pages = dataset_pages(context, store, plan, counts)
        write_items(store, plan, writer, counts, pages, room=room)
        context.progress(counts.items_taken, None, "putting the items in their labeling order")
        write_order(context.database, project_id=plan.project_id, version_id=version_id, after_id=None)
    except Exception as error:
        _record_failure(context, plan, f"initialization failed: {error}"[:500])
        raise
    with context.database.write() as session:
        loaded = _count_items(session, plan.project_id)
        _finish_version(session, version_id, loaded)
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
    with collector_paused():
        return _refresh(context)


def _refresh(context: JobContext) -> dict[str, Any]:
    plan = read_plan(context)
    try:
        store = open_datastore(plan.datastore, context.settings)
        known = KnownPaths.read(context.database, plan.project_id)
        with context.database.read() as session:
            loaded_before = _count_items(session, plan.project_id)
        version_id, after_id = open_version(context, plan, "refresh"), last_item_id(context.database)
        writer = ItemWriter(context.database, plan.project_id, version_id, plan.seed)
        room, counts = max(0, int(context.params["max_items"]) - loaded_before), Counts()
        pages = known.new_pages(dataset_pages(context, store, plan, counts))
        write_items(store, plan, writer, counts, pages, room=room)
        write_order(context.database, project_id=plan.project_id, version_id=version_id, after_id=after_id)
        missing = _set_health(context, known.vanished(), ItemHealth.missing)
        returned = _set_health(context, known.returned(), ItemHealth.ok)
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
                    message=_refresh_summary(writer.inserted, missing, returned),
                )
            )
    except BaseException:
        _release_lease(context, plan.project_id)
        raise
    return {
        "items_added": writer.inserted,
        "items_missing": missing,
        "items_returned": returned,
        "items_left_out": counts.items_left_out,
    }


def _set_health(context: JobContext, item_ids: Sequence[int], health: ItemHealth) -> int:
    """Mark the items missing (their file vanished) or ok (it came back), in short transactions."""
    moment = f"{clock.now():%Y-%m-%d %H:%M} UTC"
    reason = f"not in the datastore at the refresh of {moment}" if health == ItemHealth.missing else None
    marked = 0
    for start in range(0, len(item_ids), HEALTH_BATCH):
        with context.database.write() as session:
            result = session.execute(
                update(Item)
                .where(Item.id.in_(item_ids[start : start + HEALTH_BATCH]), Item.health != health)
                .values(health=health, health_reason=reason)
            )
            marked += int(result.rowcount)  # type: ignore[attr-defined]
    return marked


def _refresh_summary(added: int, missing: int, returned: int) -> str:
    back = f", {returned:,} files back" if returned else ""
    return f"refreshed: {added:,} new items, {missing:,} missing files{back}"


def _count_items(session: Any, project_id: int) -> int:
    """The project's items less those removed (counted on the index, never by reading item rows)."""
    every = session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id))
    removed = session.scalar(
        select(func.coalesce(func.sum(DatasetVersion.files_removed), 0)).where(
            DatasetVersion.project_id == project_id
        )
    )
    return int(every or 0) - int(removed or 0)


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
