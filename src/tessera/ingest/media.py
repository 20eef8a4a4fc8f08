"""An item's content from its datastore: located, described (type, size, version for the ETag) and opened,
never read whole; a file that is gone marks its item missing, an image that cannot be decoded marks it
broken, each with the reason."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tessera.core.errors import Invalid, NotFound, TesseraError
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.models import Dataset, Datastore, ProjectData
from tessera.ingest.service import open_datastore
from tessera.ingest.thumbnails import cached_thumbnail_path, make_thumbnail, store_thumbnail
from tessera.items.models import Item, ItemHealth
from tessera.storage import Datastore as Store
from tessera.storage import FileEntry


@dataclass(frozen=True)
class ItemFile:
    store: Store
    entry: FileEntry
    content_type: str

    @property
    def version(self) -> str:
        """What changes when the file does: the backend's ETag, else size and modified time."""
        if self.entry.etag:
            return self.entry.etag
        modified = self.entry.modified.timestamp() if self.entry.modified else 0
        return f"{self.entry.size}-{modified:.6f}"

    def open(self) -> IO[bytes]:
        return self.store.open(self.entry.path)


def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} does not exist")
    return item


def text_version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()[:32]


def item_datastore(session: Session, item: Item) -> Datastore | None:
    """The datastore row the item's file lives in (through its project's dataset); None when gone."""
    data = session.get(ProjectData, item.project_id)
    dataset = session.get(Dataset, data.dataset_id) if data else None
    return session.get(Datastore, dataset.datastore_id) if dataset else None


def locate_item_file(session: Session, database: Database, settings: Settings, item: Item) -> ItemFile:
    """The item's file in its datastore; a file that is gone marks the item missing (its own write)."""
    row = item_datastore(session, item)
    if row is None:
        raise NotFound(f"the datastore of item {item.id} is gone")
    store = open_datastore(row, settings)
    try:
        entry = store.stat(item.path)
    except NotFound:
        mark_item_health(
            database, item.id, ItemHealth.missing, f"{item.path!r} is no longer in the datastore"
        )
        raise NotFound(f"the file of item {item.id} is no longer in the datastore") from None
    content_type = mimetypes.guess_type(item.path)[0] or "application/octet-stream"
    return ItemFile(store=store, entry=entry, content_type=content_type)


def item_thumbnail(database: Database, settings: Settings, item: Item, located: ItemFile, size: int) -> bytes:
    """The cached thumbnail, made on first use; an undecodable image marks the item broken (422)."""
    path = cached_thumbnail_path(settings.data_dir, item.project_id, item.id, size, located.version)
    if path.exists():
        return path.read_bytes()
    try:
        with located.open() as handle:
            data = make_thumbnail(handle, size)
    except (OSError, ValueError, SyntaxError) as error:  # Pillow's errors for data that is no image
        reason = f"the image cannot be decoded: {error}"[:500]
        mark_item_health(database, item.id, ItemHealth.broken, reason)
        raise Invalid(reason, field="item") from None
    store_thumbnail(path, data)
    return data


def warm_thumbnails(database: Database, settings: Settings, item_ids: Sequence[int], size: int) -> int:
    """Make the thumbnails of these image items that are not cached yet, so that whoever is shown them
    next does not wait for the decoding; how many were made. An item whose file is gone or is no image
    is marked as a request for it would mark it, and skipped."""
    with database.read() as session:
        items = session.scalars(select(Item).where(Item.id.in_(item_ids))).all()
        located = []
        without_files: set[int] = set()  # projects with no datastore: asked once, not once per item
        for item in items:
            if item.project_id in without_files:
                continue
            if item_datastore(session, item) is None:
                without_files.add(item.project_id)
                continue
            try:
                located.append((item, locate_item_file(session, database, settings, item)))
            except TesseraError:
                continue
    made = 0
    for item, file in located:
        if cached_thumbnail_path(settings.data_dir, item.project_id, item.id, size, file.version).exists():
            continue
        try:
            item_thumbnail(database, settings, item, file, size)
        except TesseraError:
            continue
        made += 1
    return made


def mark_item_health(database: Database, item_id: int, health: ItemHealth, reason: str) -> None:
    with database.write() as session:
        session.execute(
            update(Item).where(Item.id == item_id).values(health=health, health_reason=reason[:500])
        )


def read_image_size(session: Session, settings: Settings, item: Item) -> tuple[int, int] | None:
    """An image item's (width, height), from its file's header alone; None when it cannot be read (its
    labels are then checked without the image's bounds). Writes nothing: it runs inside the caller's
    transaction."""
    row = item_datastore(session, item)
    if row is None:
        return None
    try:
        with open_datastore(row, settings).open(item.path) as handle, Image.open(handle) as image:
            return int(image.width), int(image.height)
    except (TesseraError, OSError, Image.DecompressionBombError):
        return None
