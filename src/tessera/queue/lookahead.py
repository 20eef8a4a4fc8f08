"""Thumbnails made ahead of the labelers: when a page of images is handed out, the thumbnails of the
items next in the labeling order are made in the background, so that the next page's grid shows at
once instead of waiting for its images to be decoded (measured by `python -m bench web`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.media import warm_thumbnails
from tessera.items.models import Item, ItemOrder, ItemState

PAGES_AHEAD = 2  # pages of the labeling order after the one handed out
GRID_THUMBNAIL_SIZE = 512  # what the labeling page's grid asks for (label.js)


def items_ahead(database: Database, project_id: int, handed_out: Sequence[int], count: int) -> list[int]:
    """The next `count` unlabeled items in the labeling order after the items just handed out."""
    with database.read() as session:
        last = session.scalar(select(func.max(Item.rank)).where(Item.id.in_(handed_out)))
        if last is None:
            return []
        query = (
            select(ItemOrder.item_id)
            .join(Item, and_(Item.id == ItemOrder.item_id, Item.project_id == project_id))
            .where(
                ItemOrder.project_id == project_id, ItemOrder.rank > last, Item.state == ItemState.unlabeled
            )
            .order_by(ItemOrder.rank, ItemOrder.item_id)
            .limit(count)
        )
        return list(session.scalars(query).all())


def warm_next_pages(
    database: Database, settings: Settings, project_id: int, handed_out: Sequence[int], page_size: int
) -> int:
    """Make the thumbnails of the next pages' items; how many were made."""
    ahead = items_ahead(database, project_id, handed_out, page_size * PAGES_AHEAD)
    return warm_thumbnails(database, settings, ahead, GRID_THUMBNAIL_SIZE) if ahead else 0
