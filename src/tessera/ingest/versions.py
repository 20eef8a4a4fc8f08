"""A project's dataset versions: the frozen listings its loads recorded, and removing data, which is a new
version that takes items out of the project (never an edit of an old one).

Version N of a project holds the items added by versions 1..N and not removed by any of them; its listing
can be read back at any later time. Removed items keep their rows (and, later, their labels' history), so a
refresh never adds their files again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Invalid, NotFound
from tessera.ingest.models import DatasetVersion, DataState, ProjectData
from tessera.items.counts import CLAIMED, WAITING, add_counts
from tessera.items.models import Item, ItemOrder, ItemState
from tessera.projects.models import Project
from tessera.storage.globs import check_patterns, compile_patterns
from tessera.storage.paths import clean_path

MAX_PATHS = 10_000  # paths named in one removal
REMOVE_BATCH = 500
SCAN_CHUNK = 50_000


def list_versions(
    session: Session, project_id: int, *, after_id: int = 0, limit: int = 50
) -> Sequence[DatasetVersion]:
    """The project's versions, oldest first (ids grow with their numbers)."""
    return session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.project_id == project_id, DatasetVersion.id > after_id)
        .order_by(DatasetVersion.id)
        .limit(limit)
    ).all()


def get_version(session: Session, project_id: int, number: int) -> DatasetVersion:
    version = session.scalar(
        select(DatasetVersion).where(DatasetVersion.project_id == project_id, DatasetVersion.number == number)
    )
    if version is None:
        raise NotFound(f"project {project_id} has no dataset version {number}")
    return version


def list_version_items(
    session: Session, version: DatasetVersion, *, after_id: int = 0, limit: int = 50
) -> Sequence[Item]:
    """The items of the frozen listing `version`, by id."""
    upto = select(DatasetVersion.id).where(
        DatasetVersion.project_id == version.project_id, DatasetVersion.number <= version.number
    )
    return session.scalars(
        select(Item)
        .where(
            Item.project_id == version.project_id,
            Item.id > after_id,
            Item.dataset_version_id.in_(upto),
            or_(Item.removed_version_id.is_(None), Item.removed_version_id.not_in(upto)),
        )
        .order_by(Item.id)
        .limit(limit)
    ).all()


def remove_data(
    session: Session,
    *,
    project: Project,
    paths: Sequence[str] = (),
    patterns: Sequence[str] = (),
    created_by_id: int | None = None,
) -> DatasetVersion:
    """Take the items of the named files, and of the files matching the patterns, out of the project as a
    new dataset version, in this one transaction. A named path with no item is refused (nothing is
    removed); so is a removal that matches nothing."""
    data = _ready_data(session, project.id)
    chosen = _chosen_items(session, project.id, paths, patterns)
    if not chosen:
        raise Invalid("no item of the project matches these patterns", field="patterns")
    number = session.scalar(
        select(func.coalesce(func.max(DatasetVersion.number), 0)).where(
            DatasetVersion.project_id == project.id
        )
    )
    version = DatasetVersion(
        dataset_id=data.dataset_id,
        project_id=project.id,
        number=int(number or 0) + 1,
        reason="removal",
        files_removed=len(chosen),
    )
    session.add(version)
    session.flush()
    for start in range(0, len(chosen), REMOVE_BATCH):
        batch = chosen[start : start + REMOVE_BATCH]
        session.execute(
            update(Item)
            .where(Item.id.in_([chosen_item.id for chosen_item in batch]))
            .values(state=ItemState.removed, removed_version_id=version.id)
        )
        session.execute(
            delete(ItemOrder).where(
                ItemOrder.project_id == project.id,
                tuple_(ItemOrder.rank, ItemOrder.item_id).in_([(chosen.rank, chosen.id) for chosen in batch]),
            )
        )
    add_counts(session, project.id, _removal_deltas(chosen))
    data.items_loaded -= len(chosen)
    data.message = f"version {version.number}: {len(chosen):,} items removed"
    session.flush()
    return version


def _ready_data(session: Session, project_id: int) -> ProjectData:
    data = session.get(ProjectData, project_id)
    if data is None:
        raise NotFound(f"project {project_id} has no data yet: attach a dataset")
    if data.state != DataState.ready:
        raise Conflict(f"the project's data is {data.state.value}; remove data once it is ready")
    lease = data.refresh_lease_until
    if lease is not None and lease > clock.now():
        raise Conflict("a refresh of this project is running; remove data after it ends")
    return data


class Chosen(NamedTuple):
    id: int
    rank: int
    state: str
    claimed: bool
    waiting: bool


def _removal_deltas(chosen: Sequence[Chosen]) -> dict[str, int]:
    deltas: dict[str, int] = {ItemState.removed.value: len(chosen)}
    for item in chosen:
        deltas[item.state] = deltas.get(item.state, 0) - 1
        if item.state == ItemState.unlabeled.value:
            deltas[CLAIMED] = deltas.get(CLAIMED, 0) - item.claimed
            deltas[WAITING] = deltas.get(WAITING, 0) - item.waiting
    return deltas


def _chosen_items(
    session: Session, project_id: int, paths: Sequence[str], patterns: Sequence[str]
) -> list[Chosen]:
    """The project's items, not removed yet, whose path is named or matches a pattern."""
    if not paths and not patterns:
        raise Invalid("name the files to remove: paths, patterns or both", field="paths")
    if len(paths) > MAX_PATHS:
        raise Invalid(f"at most {MAX_PATHS:,} paths at once; use patterns for more", field="paths")
    named = {clean_path(path, field=f"paths.{index}") for index, path in enumerate(paths)}
    matches = compile_patterns(check_patterns(patterns)) if patterns else None
    chosen: list[Chosen] = []
    seen: set[str] = set()
    query = select(Item.id, Item.rank, Item.path, Item.state, Item.claim_count, Item.label_count).where(
        Item.project_id == project_id, Item.state != ItemState.removed
    )
    for rows in session.execute(query.execution_options(yield_per=SCAN_CHUNK)).partitions(SCAN_CHUNK):
        for item_id, rank, path, state, claims, labels in rows:
            if path in named or (matches is not None and matches(path)):
                chosen.append(
                    Chosen(item_id, rank, ItemState(state).value, claims > 0, labels > 0 and claims == 0)
                )
                seen.add(path)
    unknown = sorted(named - seen)
    if unknown:
        shown = ", ".join(repr(path) for path in unknown[:5])
        more = f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else ""
        raise Invalid(f"the project has no item for {shown}{more}", field="paths")
    return chosen
