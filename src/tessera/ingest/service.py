"""Datastores, datasets, and bringing a dataset's files into a project (initialization, refresh)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.core import clock
from tessera.core.errors import Conflict, Invalid, NotFound
from tessera.core.settings import Settings
from tessera.ingest.models import Dataset, DataState, Datastore, Media, ProjectData
from tessera.jobs.models import Job
from tessera.jobs.service import create_job
from tessera.projects.models import Project, ProjectStatus
from tessera.storage import Datastore as Store
from tessera.storage import build_datastore, decrypt_credentials, encrypt_credentials, read_secret_key
from tessera.storage.globs import check_patterns

INITIALIZE = "ingest.initialize"
REFRESH = "ingest.refresh"
REFRESH_LEASE = timedelta(hours=1)  # a refresh that dies frees its project after this long


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200:
        raise Invalid("must be 1-200 characters", field="name")
    return cleaned


def create_datastore(
    session: Session,
    *,
    settings: Settings,
    name: str,
    kind: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, str] | None,
    created_by_id: int | None,
) -> Datastore:
    """A named connection, tested before it is saved; credentials are stored encrypted."""
    name = _clean_name(name)
    if session.scalar(select(Datastore.id).where(Datastore.name == name)) is not None:
        raise Conflict(f"a datastore named {name!r} already exists", details={"field": "name"})
    store = build_datastore(kind, config, credentials, local_roots=settings.resolved_local_datastore_roots())
    store.check()
    secret = encrypt_credentials(credentials, secret=read_secret_key(settings)) if credentials else None
    row = Datastore(
        name=name, kind=kind, config=dict(config), credentials_ciphertext=secret, created_by_id=created_by_id
    )
    session.add(row)
    session.flush()
    return row


def datastore_credentials(row: Datastore, settings: Settings) -> dict[str, Any] | None:
    """The datastore's credentials, decrypted (for building it here or in a listing process)."""
    if not row.credentials_ciphertext:
        return None
    return dict(decrypt_credentials(row.credentials_ciphertext, secret=read_secret_key(settings)))


def open_datastore(row: Datastore, settings: Settings) -> Store:
    return build_datastore(
        row.kind,
        row.config,
        datastore_credentials(row, settings),
        local_roots=settings.resolved_local_datastore_roots(),
    )


def get_datastore(session: Session, datastore_id: int) -> Datastore:
    row = session.get(Datastore, datastore_id)
    if row is None:
        raise NotFound(f"datastore {datastore_id} does not exist")
    return row


def list_datastores(session: Session, *, after_id: int = 0, limit: int = 50) -> Sequence[Datastore]:
    return session.scalars(
        select(Datastore).where(Datastore.id > after_id).order_by(Datastore.id).limit(limit)
    ).all()


def create_dataset(
    session: Session,
    *,
    name: str,
    datastore: Datastore,
    patterns: Sequence[str],
    media: Media,
    text_column: str | None,
    created_by_id: int | None,
) -> Dataset:
    name = _clean_name(name)
    if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise Conflict(f"a dataset named {name!r} already exists", details={"field": "name"})
    dataset = Dataset(
        name=name,
        datastore_id=datastore.id,
        patterns=check_patterns(patterns),
        media=Media(media),
        text_column=(text_column or "").strip() or None,
        created_by_id=created_by_id,
    )
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} does not exist")
    return dataset


def list_datasets(session: Session, *, after_id: int = 0, limit: int = 50) -> Sequence[Dataset]:
    return session.scalars(
        select(Dataset).where(Dataset.id > after_id).order_by(Dataset.id).limit(limit)
    ).all()


def get_project_data(session: Session, project_id: int) -> ProjectData:
    data = session.get(ProjectData, project_id)
    if data is None:
        raise NotFound(f"project {project_id} has no data yet: attach a dataset")
    return data


def attach_dataset(
    session: Session, *, project: Project, dataset: Dataset, max_items: int, created_by_id: int | None
) -> Job:
    """Give the project its data: it becomes `initializing` and a job loads the items. Once, for good."""
    if session.get(ProjectData, project.id) is not None:
        raise Conflict(
            "the project already has its dataset; it cannot change", details={"field": "dataset_id"}
        )
    if dataset.media != project.media:
        raise Invalid(
            f"a {project.task_type.value} project labels {project.media} items; dataset {dataset.id} holds "
            f"{dataset.media.value}",
            field="dataset_id",
        )
    session.add(
        ProjectData(
            project_id=project.id,
            dataset_id=dataset.id,
            seed=secrets.randbits(31),
            state=DataState.initializing,
            message="queued",
        )
    )
    project.status = ProjectStatus.initializing
    try:
        session.flush()
    except IntegrityError as error:  # two managers attached at once
        raise Conflict("the project already has its dataset; it cannot change") from error
    return create_job(
        session,
        kind=INITIALIZE,
        project_id=project.id,
        created_by_id=created_by_id,
        params={"max_items": max_items},
    )


def set_refresh_schedule(
    session: Session, data: ProjectData, *, enabled: bool, interval_seconds: int
) -> ProjectData:
    if interval_seconds < 60:
        raise Invalid("must be at least 60 seconds", field="interval_seconds")
    data.refresh_enabled, data.refresh_interval_seconds = enabled, interval_seconds
    session.flush()
    return data


def _take_refresh_lease(session: Session, project_id: int, *, due_only: bool) -> bool:
    """Atomically take the project's refresh lease: True for exactly one caller, across all processes."""
    moment = clock.now()
    query = update(ProjectData).where(
        ProjectData.project_id == project_id,
        ProjectData.state == DataState.ready,
        or_(ProjectData.refresh_lease_until.is_(None), ProjectData.refresh_lease_until < moment),
    )
    if due_only:
        query = query.where(ProjectData.refresh_enabled.is_(True))
    taken = session.execute(query.values(refresh_lease_until=moment + REFRESH_LEASE))
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def start_refresh(session: Session, *, project: Project, max_items: int, created_by_id: int | None) -> Job:
    """Refresh now: add the files that appeared since the last listing."""
    data = get_project_data(session, project.id)
    if data.state != DataState.ready:
        raise Conflict(f"the project's data is {data.state.value}; refresh once it is ready")
    if not _take_refresh_lease(session, project.id, due_only=False):
        raise Conflict("a refresh of this project is already running")
    return create_job(
        session,
        kind=REFRESH,
        project_id=project.id,
        created_by_id=created_by_id,
        params={"max_items": max_items},
    )


def start_due_refreshes(session: Session, *, max_items: int) -> list[int]:
    """The scheduler's part: a refresh job for each project whose interval has passed (each taken under
    the lease, so two schedulers never start the same one)."""
    moment = clock.now()
    candidates = session.execute(
        select(
            ProjectData.project_id,
            ProjectData.last_refresh_at,
            ProjectData.refresh_interval_seconds,
            ProjectData.created_at,
        ).where(ProjectData.refresh_enabled.is_(True), ProjectData.state == DataState.ready)
    ).all()
    started = []
    for project_id, last, interval, created in candidates:
        if (last or created) + timedelta(seconds=interval) > moment:
            continue
        if _take_refresh_lease(session, project_id, due_only=True):
            create_job(session, kind=REFRESH, project_id=project_id, params={"max_items": max_items})
            started.append(project_id)
    return started
