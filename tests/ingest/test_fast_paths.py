"""The pieces that make large loads fast, each held to the plain rule it replaces: the listing's one
filter against `takes`, the refresh's hashed comparison against sets of paths, the collector's pause, and
the bulk write's foreign keys (off for the load, back on for everyone after)."""

from __future__ import annotations

import gc
import random
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tessera.core.gc_pause import collector_paused
from tessera.db.migrate import upgrade_database
from tessera.db.session import Database
from tessera.ingest.known import KnownPaths
from tessera.ingest.loading import ItemWriter, _write_order_sqlite_chunked
from tessera.ingest.models import Media
from tessera.ingest.sources import suffixes, takes
from tessera.items.models import Item
from tessera.storage.globs import compile_filter

NAMES = [
    "a.jpg", "b.JPEG", "c.Png", "dir/d.tiff", "dir/e.tif", "f.webp", "g.gif", "h.bmp", ".jpg", "dir/.png",
    "x.jpg.txt", "y.txt", "z.CSV", "w.jsonl", "v.json", "noext", "dir.jpg/inner", "a.b.c.jpeg", "dir/.hidden.jpg",
    "trailing.jpg ", "ünï.JPG", "dir/sub/.tiff", "jpg", "a.jpgx", "deep/er/file.JsonL",
]  # fmt: skip


@pytest.mark.parametrize("media", list(Media))
def test_the_listing_filter_takes_exactly_what_takes_takes(media: Media) -> None:
    wanted = compile_filter(["**"], suffixes(media))
    assert wanted is not None
    assert [name for name in NAMES if wanted(name)] == [name for name in NAMES if takes(media, name)]


def test_the_listing_filter_combines_patterns_and_suffixes() -> None:
    assert compile_filter(["**"]) is None  # everything passes: nothing is tested per file
    wanted = compile_filter(["dir/**"], suffixes(Media.image))
    assert wanted is not None
    assert [name for name in NAMES if wanted(name)] == ["dir/d.tiff", "dir/e.tif", "dir/.hidden.jpg"]


def _known(
    items: dict[int, str], missing: set[int] = frozenset(), removed: set[int] = frozenset()
) -> KnownPaths:
    ids = np.array(list(items), dtype=np.int64)
    known = KnownPaths(
        np.array([hash(path) for path in items.values()], dtype=np.int64), ids, np.zeros(len(ids), bool)
    )
    known.set_aside(missing=sorted(missing), removed=sorted(removed))
    return known


def test_the_refresh_comparison_agrees_with_sets_of_paths() -> None:
    generator = random.Random(7)
    paths = [f"f{index}.jpg" for index in range(3000)]
    # Items 1..: a table file gives several items (rows) under one path.
    items = {index + 1: path for index, path in enumerate(paths[:2000] + ["table.csv"] * 3)}
    missing = {5, 6, 2002}  # 2002: a row of table.csv
    removed = {7, 8}
    listed = [*generator.sample(paths[:2000], 1500), *paths[2000:], "table.csv"]
    generator.shuffle(listed)
    known = _known(items, missing, removed)
    pages = [[(path, None) for path in listed[start : start + 700]] for start in range(0, len(listed), 700)]
    new = [path for page in known.new_pages(pages) for path, _ in page]

    shown = set(listed)
    assert sorted(new) == sorted(shown - set(items.values()))
    expected_vanished = {
        i for i, p in items.items() if p not in shown and i not in missing and i not in removed
    }
    assert set(known.vanished()) == expected_vanished
    assert set(known.returned()) == {i for i in missing if items[i] in shown}
    assert not set(known.vanished()) & removed and not set(known.returned()) & removed


def test_an_empty_project_knows_nothing() -> None:
    known = _known({})
    assert list(known.new_pages([[("a.jpg", 1)]])) == [[("a.jpg", 1)]]
    assert known.vanished() == [] and known.returned() == []


def test_the_collector_pause_nests_across_threads_and_restores_what_was() -> None:
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        entered.wait(5)
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other pass still runs
    release.set()
    thread.join()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # never turned on by us if it was off
    finally:
        gc.enable()


def test_a_bulk_write_skips_foreign_key_checks_and_the_pool_gets_them_back(tmp_path: Path) -> None:
    """SQLite's per-connection setting (PostgreSQL has none to skip), on a database of its own."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'bulk.db'}")
    upgrade_database(db.engine)
    try:
        for _ in range(3):  # the pool hands back the same connection: it must check again afterwards
            with pytest.raises(IntegrityError), db.write() as session:
                session.add(Item(project_id=999_999, path="orphan.jpg", rank=1))
        with db.bulk_write() as session:
            checks = session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar_one()
        assert checks == 0
        for _ in range(3):
            with db.write() as session:
                assert session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        db.dispose()


def test_the_order_is_copied_a_chunk_per_transaction_sorted_complete_and_once(tmp_path: Path) -> None:
    """SQLite builds a whole project's order in chunks (short holds of the write lock); the result is
    the one sorted pass it replaces, a retry adds nothing, and the connection goes back to the pool clean."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'order.db'}")
    upgrade_database(db.engine)
    try:
        writer = ItemWriter(db, project_id=1, version_id=1, seed=3, batch_rows=40)
        writer.add_files([(f"f{index:03d}.jpg", None) for index in range(103)])
        assert writer.close() == 103
        for _ in range(2):  # the second run is a retried initialization
            _write_order_sqlite_chunked(db, 1, chunk=10)
        with db.read() as session:
            ordered = session.execute(
                text("SELECT rank, item_id FROM item_order WHERE project_id = 1 ORDER BY rank, item_id")
            ).all()
            expected = session.execute(
                text("SELECT rank, id FROM items WHERE project_id = 1 ORDER BY rank, id")
            ).all()
            connection = session.connection()
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            temporary = "SELECT count(*) FROM temp.sqlite_master WHERE name = 'order_staging'"
            assert connection.exec_driver_sql(temporary).scalar_one() == 0
        assert [tuple(row) for row in ordered] == [tuple(row) for row in expected]
        assert len(ordered) == 103
    finally:
        db.dispose()
