"""What a refresh compares its listing against: every path the project already has an item for, held as
64-bit hashes in NumPy arrays (about 17 bytes an item: 85 MB at 5,000,000 items), never as a set of
strings or of ORM objects.

The hashes are Python's own string hashes, which are the same everywhere within one process (a refresh
runs in one). Two different paths with the same 64-bit hash would make a new file look known (it waits
for a refresh after it is renamed) or a vanished one look present; at a million items and a thousand new
files the odds are about one in 10^10 per refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text

from tessera.db.session import Database
from tessera.items.models import ItemState

ListedFile = tuple[str, int | None]

CHUNK = 50_000  # rows read, and listed paths compared, at a time

Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class KnownPaths:
    """The project's items as (hash of path, id, was missing), sorted by hash; `new_pages` marks what the
    listing shows, and afterwards `vanished` and `returned` say which items to mark missing or ok."""

    def __init__(self, hashes: Int64s, ids: Int64s, missing: Bools) -> None:
        order = np.argsort(hashes, kind="stable")
        self.hashes, self.ids, self.missing = hashes[order], ids[order], missing[order]
        self._starts: list[Int64s] = []  # the runs of sorted items that the listing showed
        self._ends: list[Int64s] = []

    @classmethod
    def read(cls, database: Database, project_id: int) -> KnownPaths:
        """Read the project's (id, path) through the unique index alone (it covers both), in chunks with
        the driver's own cursor; then the few items set aside (missing, removed) through theirs. Removed
        items count as known (their files are never added again) but are never marked: id -1."""
        hashes, ids = [], []
        with database.read() as session:
            connection = session.connection()
            raw: Any = connection.connection.driver_connection
            sqlite = connection.dialect.name == "sqlite"
            # PostgreSQL: a server-side cursor, so that the rows come a chunk at a time, not all at once.
            cursor = raw.cursor() if sqlite else raw.cursor(name="tessera_known_paths")
            mark = "?" if sqlite else "%s"
            cursor.execute(f"SELECT id, path FROM items WHERE project_id = {mark}", (project_id,))  # noqa: S608
            while rows := cursor.fetchmany(CHUNK):
                item_ids, paths = zip(*rows, strict=True)
                ids.append(np.array(item_ids, dtype=np.int64))
                hashes.append(np.fromiter(map(hash, paths), np.int64, len(paths)))
            cursor.close()
            aside = session.execute(
                text(
                    "SELECT id, state FROM items WHERE project_id = :project "
                    "AND (health = 'missing' OR state = 'removed')"
                ),
                {"project": project_id},
            ).all()
        if not hashes:
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool))
        known = cls(np.concatenate(hashes), np.concatenate(ids), np.zeros(sum(map(len, ids)), bool))
        known.set_aside(
            missing=[item_id for item_id, state in aside if state != ItemState.removed.value],
            removed=[item_id for item_id, state in aside if state == ItemState.removed.value],
        )
        return known

    def set_aside(self, *, missing: list[int], removed: list[int]) -> None:
        """Flag the items marked missing, and take the removed ones out of the marking (id -1)."""
        self.missing |= np.isin(self.ids, np.array(missing, dtype=np.int64))
        self.ids[np.isin(self.ids, np.array(removed, dtype=np.int64))] = -1

    def __len__(self) -> int:
        return len(self.hashes)

    def new_pages(self, pages: Iterable[list[ListedFile]]) -> Iterator[list[ListedFile]]:
        """The listed files that are not known yet, in chunks; every known one is marked seen."""
        batch: list[ListedFile] = []
        for page in pages:
            batch += page
            if len(batch) >= CHUNK:
                if unknown := self._unknown(batch):
                    yield unknown
                batch = []
        if batch and (unknown := self._unknown(batch)):
            yield unknown

    def _unknown(self, batch: list[ListedFile]) -> list[ListedFile]:
        listed = np.fromiter(map(hash, [path for path, _ in batch]), np.int64, len(batch))
        first = np.searchsorted(self.hashes, listed, side="left")
        past = np.searchsorted(self.hashes, listed, side="right")
        known = past > first  # every item of the path (one per file, one per row of a table) is seen
        self._starts.append(first[known])
        self._ends.append(past[known])
        return [batch[index] for index in np.flatnonzero(~known)]

    def _seen(self) -> Bools:
        starts = np.bincount(np.concatenate([*self._starts, np.empty(0, np.int64)]), minlength=len(self) + 1)
        ends = np.bincount(np.concatenate([*self._ends, np.empty(0, np.int64)]), minlength=len(self) + 1)
        return np.cumsum(starts - ends)[:-1] > 0

    def vanished(self) -> list[int]:
        """Items whose file the listing did not show, and that are not marked missing already."""
        chosen = ~self._seen() & ~self.missing & (self.ids >= 0)
        return [int(item_id) for item_id in self.ids[chosen]]

    def returned(self) -> list[int]:
        """Items marked missing whose file the listing shows again."""
        chosen = self._seen() & self.missing & (self.ids >= 0)
        return [int(item_id) for item_id in self.ids[chosen]]
