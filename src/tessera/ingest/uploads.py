"""Uploads: files sent from a browser or `tessera dataset upload`, streamed into the default datastore.

An *upload dataset* is a dataset of the default datastore (`Settings.upload_datastore`, a local folder
`<data_dir>/datastores/uploads` made on first use unless a datastore of that name exists) whose one pattern
is `<folder>/**`: its own folder. `store_files` writes each file there chunk by chunk (never whole in memory)
through the datastore's write, which goes to a temporary name and renames, so no file is ever half there.
One call is all or nothing: when a file is refused (too large, a type the dataset's media does not take, a
name already taken) or the sender stops, the files it already wrote are removed again. The files reach
the projects of the dataset at their next refresh.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.core.errors import Conflict, Invalid, NotFound, TooLarge
from tessera.core.settings import Settings
from tessera.ingest.models import Dataset, Datastore, Media, ProjectData
from tessera.ingest.service import create_dataset, open_datastore
from tessera.ingest.sources import IMAGE_EXTENSIONS, TEXT_EXTENSIONS, takes
from tessera.storage import Datastore as Store
from tessera.storage import StorageError, StorageProblem
from tessera.storage.globs import UPLOAD_MARKER
from tessera.storage.paths import clean_path, has_glob

CHUNK_SIZE = 1024 * 1024  # most bytes of a file read or handed on at once
MAX_NAME_BYTES = 200  # per folder or file name: room for the temporary name within 255 bytes
FOLDER_SUFFIX_BYTES = 4  # random bytes that keep two datasets of one name apart


@dataclass(frozen=True)
class UploadTarget:
    """Where one upload writes: read from the database once, then used without it."""

    dataset_id: int
    folder: str
    media: Media
    store: Store


@dataclass(frozen=True)
class UploadPart:
    """One file to store: its path inside the dataset's folder (sub-folders kept) and its bytes."""

    path: str
    chunks: Iterable[bytes]


@dataclass(frozen=True)
class StoredFile:
    path: str  # in the datastore: what the file's items will show
    size: int


@dataclass
class UploadResult:
    stored: list[StoredFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already there (with `skip_existing`)


def human_bytes(count: int) -> str:
    """`1,073,741,824 bytes (1 GiB)`: the exact figure, and a readable one."""
    size, unit = float(count), "bytes"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, next_unit
    readable = f" ({size:.3g} {unit})" if unit != "bytes" else ""
    return f"{count:,} bytes{readable}"


# -- the default datastore and upload datasets ------------------------------------------------------------


def find_default_datastore(session: Session, settings: Settings) -> Datastore | None:
    return session.scalar(select(Datastore).where(Datastore.name == settings.upload_datastore))


def get_default_datastore(session: Session, settings: Settings) -> Datastore:
    """The default datastore, made on first use: a local folder under the data folder. Two first uses at
    once both end with the one row (the name is unique; the loser of the insert reads the winner's)."""
    row = find_default_datastore(session, settings)
    if row is not None:
        return row
    root = settings.upload_folder()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with session.begin_nested():
            session.add(Datastore(name=settings.upload_datastore, kind="local", config={"root": str(root)}))
    except IntegrityError:
        pass  # made meanwhile by another request or process: read it below
    row = find_default_datastore(session, settings)
    if row is None:  # pragma: no cover - the unique name was taken, so the row is there
        raise Conflict(f"the default datastore {settings.upload_datastore!r} could not be made")
    return row


def _folder_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-") or "dataset"
    return f"{slug}-{secrets.token_hex(FOLDER_SUFFIX_BYTES)}"


def create_upload_dataset(
    session: Session,
    *,
    settings: Settings,
    name: str,
    media: Media,
    text_column: str | None,
    created_by_id: int | None,
) -> Dataset:
    """A dataset of its own folder in the default datastore, to upload files into."""
    datastore = get_default_datastore(session, settings)
    return create_dataset(
        session,
        name=name,
        datastore=datastore,
        patterns=[f"{_folder_name(name)}/**"],
        media=media,
        text_column=text_column,
        created_by_id=created_by_id,
    )


def upload_folder_of(dataset: Dataset, default: Datastore | None) -> str | None:
    """The dataset's folder if it is an upload dataset (of the default datastore, one `<folder>/**`
    pattern), else None."""
    if default is None or dataset.datastore_id != default.id or len(dataset.patterns) != 1:
        return None
    folder, _, rest = dataset.patterns[0].rpartition("/")
    if rest != "**" or not folder or any(has_glob(segment) for segment in folder.split("/")):
        return None
    return folder


def open_upload_target(session: Session, *, settings: Settings, dataset: Dataset) -> UploadTarget:
    default = find_default_datastore(session, settings)
    folder = upload_folder_of(dataset, default)
    if folder is None or default is None:
        raise Conflict(
            f"dataset {dataset.id} is not an upload dataset: its files are read from where its datastore "
            f"points ({', '.join(dataset.patterns)}); upload to a dataset made for uploads "
            "(POST /api/datasets/uploads, `tessera dataset upload --create`)",
            details={"field": "dataset_id"},
        )
    return UploadTarget(dataset.id, folder, dataset.media, open_datastore(default, settings))


def list_dataset_projects(session: Session, dataset_id: int) -> list[int]:
    """The projects initialized from the dataset: they get new files at their next refresh."""
    query = select(ProjectData.project_id).where(ProjectData.dataset_id == dataset_id)
    return list(session.scalars(query.order_by(ProjectData.project_id)))


# -- storing files ----------------------------------------------------------------------------------------


def check_upload_path(media: Media, path: str, *, field: str = "files") -> str:
    """`path` (relative, inside the dataset's folder) when it may be stored, else `Invalid` naming it."""
    clean_path(path, field=field)
    for segment in path.split("/"):
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise Invalid(f"has a name longer than {MAX_NAME_BYTES} bytes: {path!r}", field=field)
        if segment.startswith(UPLOAD_MARKER):
            raise Invalid(f"uses a name reserved for writes in progress: {path!r}", field=field)
    if not takes(media, path):
        allowed = ", ".join(sorted(IMAGE_EXTENSIONS if media == Media.image else TEXT_EXTENSIONS))
        raise Invalid(f"{path!r}: a {media.value} dataset takes only {allowed} files", field=field)
    return path


class LimitedReader:
    """The chunks of one file as a binary stream for the datastore's write: each read hands on at most one
    chunk (so nothing is gathered in memory), and passing `limit` bytes raises `TooLarge`."""

    def __init__(self, chunks: Iterable[bytes], *, limit: int, name: str) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._rest = b""
        self.size = 0
        self.limit = limit
        self.name = name

    def read(self, size: int = -1) -> bytes:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self.size += len(chunk)
            if self.size > self.limit:
                raise TooLarge(
                    f"{self.name!r} is larger than the upload limit of {human_bytes(self.limit)} per file",
                    limit_bytes=self.limit,
                    details={"file": self.name},
                )
            self._rest = chunk
        if 0 <= size < len(self._rest):
            piece, self._rest = self._rest[:size], self._rest[size:]
            return piece
        piece, self._rest = self._rest, b""
        return piece


def _exists(store: Store, path: str) -> bool:
    try:
        store.stat(path)
    except NotFound:
        return False
    return True


def _store_one(target: UploadTarget, part: UploadPart, full: str, *, max_file_bytes: int) -> StoredFile:
    reader = LimitedReader(part.chunks, limit=max_file_bytes, name=part.path)
    try:
        entry = target.store.write(full, cast("IO[bytes]", reader))  # reads are all a write makes
    except (FileExistsError, IsADirectoryError, NotADirectoryError):
        raise Conflict(
            f"{part.path!r} would give a file and a folder of the dataset the same name",
            details={"file": part.path},
        ) from None
    except OSError as error:  # a full disk, a folder the server may not write
        raise StorageError(
            f"the upload could not be written: {error.strerror or error}", reason=StorageProblem.FAILED
        ) from error
    return StoredFile(path=full, size=entry.size)


def store_files(
    target: UploadTarget,
    parts: Iterable[UploadPart],
    *,
    max_file_bytes: int,
    skip_existing: bool = False,
) -> UploadResult:
    """Write each part to `<folder>/<its path>`, in order, streaming its chunks. A path already taken is a
    `Conflict` (files are never replaced: items may point at them), or skipped with `skip_existing`. On any
    error every file this call wrote is removed again, then the error is raised."""
    result = UploadResult()
    seen: set[str] = set()
    try:
        for index, part in enumerate(parts):
            path = check_upload_path(target.media, part.path, field=f"files.{index}")
            full = f"{target.folder}/{path}"
            if full in seen or _exists(target.store, full):
                if skip_existing:
                    result.skipped.append(full)
                    continue
                raise Conflict(
                    f"{path!r} is already in the dataset; uploads never replace a file",
                    details={"field": f"files.{index}", "file": path},
                )
            seen.add(full)
            result.stored.append(_store_one(target, part, full, max_file_bytes=max_file_bytes))
        if not result.stored and not result.skipped:
            raise Invalid("no file was sent", field="files")
    except BaseException:
        _remove_all(target.store, [stored.path for stored in result.stored])
        raise
    return result


def _remove_all(store: Store, paths: Sequence[str]) -> None:
    for path in paths:
        try:
            store.remove(path)
        except Exception:  # noqa: S112 - best effort; the error that ended the upload is what matters
            continue
