"""Thumbnails made ahead of the labelers: when a page of images is handed out, the thumbnails of the
items next in the labeling order are made in the background, so that the next page's grid shows at
once instead of waiting for its images to be decoded (measured by `python -m bench web`).

Each claim looks two pages ahead, so half of what it finds the claim before it already warmed: the items
warmed (or found without a usable file) are remembered per database and data folder, and each is looked
at once. Looking again was a sixth of the server's time under one labeler (`python -m bench queue`):
every look at an item is a datastore query and a stat of its file and thumbnail. An item whose file
changes later gets its new thumbnail when it is first shown instead."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, func, select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.media import warm_thumbnails
from tessera.items.models import Item, ItemOrder, ItemState

PAGES_AHEAD = 2  # pages of the labeling order after the one handed out
GRID_THUMBNAIL_SIZE = 512  # what the labeling page's grid asks for (label.js)
REMEMBERED = 50_000  # item ids per database; the oldest are forgotten first
_MEMO_KEY = "tessera_items_warmed_ahead"


# After each claim of a grid: built once, run with parameters. No rank (nothing handed out) → no row.
_LAST_RANK = (
    select(func.max(Item.rank)).where(Item.id.in_(bindparam("handed_out", expanding=True))).scalar_subquery()
)
_AHEAD = (
    select(ItemOrder.item_id)
    .join(Item, and_(Item.id == ItemOrder.item_id, Item.project_id == bindparam("project_id")))
    .where(
        ItemOrder.project_id == bindparam("project_id"),
        ItemOrder.rank > _LAST_RANK,
        Item.state == ItemState.unlabeled,
    )
    .order_by(ItemOrder.rank, ItemOrder.item_id)
    .limit(bindparam("count"))
)


class WarmedItems:
    """The ids of items already looked at, the most recent `limit` of them (thread-safe)."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def new(self, item_ids: Sequence[int]) -> list[int]:
        """Those not looked at yet; all of them are remembered from now on."""
        with self._lock:
            fresh = [item_id for item_id in item_ids if item_id not in self._ids]
            for item_id in item_ids:
                self._ids[item_id] = None
                self._ids.move_to_end(item_id)
            while len(self._ids) > self._limit:
                self._ids.popitem(last=False)
            return fresh


def warmed_items(database: Database, settings: Settings) -> WarmedItems:
    """The items looked at for this database's thumbnails in this data folder (the cache's place)."""
    key = f"{_MEMO_KEY}:{settings.data_dir}"
    memo = database.info.get(key)
    if memo is None:
        memo = database.info.setdefault(key, WarmedItems())
    assert isinstance(memo, WarmedItems)
    return memo


def items_ahead(database: Database, project_id: int, handed_out: Sequence[int], count: int) -> list[int]:
    """The next `count` unlabeled items in the labeling order after the items just handed out."""
    with database.read() as session:
        given = {"project_id": project_id, "handed_out": list(handed_out), "count": count}
        return list(session.scalars(_AHEAD, given).all())


def warm_next_pages(
    database: Database, settings: Settings, project_id: int, handed_out: Sequence[int], page_size: int
) -> int:
    """Make the thumbnails of the next pages' items not looked at before; how many were made."""
    ahead = warmed_items(database, settings).new(
        items_ahead(database, project_id, handed_out, page_size * PAGES_AHEAD)
    )
    return warm_thumbnails(database, settings, ahead, GRID_THUMBNAIL_SIZE) if ahead else 0
