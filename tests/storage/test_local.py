"""Local folders: symlinks that lead out of the root are refused (open, stat, write) and never listed;
the root itself must lie in a folder the server allows; listing a huge folder holds one entry at a time."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from tessera.core.errors import Invalid, NotFound
from tessera.storage import StorageError, StorageProblem, build_datastore
from tests.storage.conftest import TREE, make_local


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"top secret")
    return folder


def test_symlinks_leading_out_are_refused_and_not_listed(local_root: Path, outside: Path) -> None:
    (local_root / "escape.txt").symlink_to(outside / "secret.txt")
    (local_root / "photos" / "escape-dir").symlink_to(outside, target_is_directory=True)
    (local_root / "photos" / "inside.jpg").symlink_to(local_root / "a.jpg")
    (local_root / "dangling.jpg").symlink_to(local_root / "nowhere.jpg")
    store = make_local(local_root)
    for path in ("escape.txt", "photos/escape-dir/secret.txt"):
        with pytest.raises(Invalid, match="outside the datastore"):
            store.stat(path)
        with pytest.raises(Invalid, match="outside the datastore"):
            store.open(path)
        with pytest.raises(Invalid, match="outside the datastore"):
            store.write(path, b"overwrite")
    assert (outside / "secret.txt").read_bytes() == b"top secret"
    assert not (outside / "overwrite").exists()
    listed = sorted(entry.path for entry in store.list_files(["**"]))
    assert listed == sorted([*TREE, "photos/inside.jpg"])  # the link inside the root is a file like any other
    with store.open("photos/inside.jpg") as handle:
        assert handle.read() == TREE["a.jpg"]


def test_a_symlinked_folder_is_not_listed_even_when_named_in_the_pattern(
    local_root: Path, outside: Path
) -> None:
    (local_root / "linked").symlink_to(outside, target_is_directory=True)
    (local_root / "photos" / "loop").symlink_to(local_root, target_is_directory=True)
    store = make_local(local_root)
    assert list(store.list_files(["linked/**"])) == []
    assert list(store.list_files(["linked/*"])) == []
    assert not any("loop" in entry.path for entry in store.list_files(["**"]))


def test_a_folder_is_not_a_file(local_root: Path) -> None:
    store = make_local(local_root)
    with pytest.raises(NotFound):
        store.open("photos")


def test_the_root_must_be_absolute_and_inside_the_allowed_folders(tmp_path: Path, outside: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "store").mkdir(parents=True)
    (allowed / "sneaky").symlink_to(outside, target_is_directory=True)
    build_datastore("local", {"root": str(allowed / "store")}, local_roots=[allowed])
    for root in (
        str(outside),
        "relative/folder",
        str(allowed / ".." / "outside"),
        str(allowed / "sneaky"),
        "/",
    ):
        with pytest.raises(Invalid) as caught:
            build_datastore("local", {"root": root}, local_roots=[allowed])
        assert caught.value.field == "config.root"
    with pytest.raises(Invalid):
        build_datastore("local", {"root": str(allowed / "store")}, local_roots=[])


def test_a_missing_root_is_named_at_check(tmp_path: Path) -> None:
    store = build_datastore("local", {"root": str(tmp_path / "gone")}, local_roots=[tmp_path])
    with pytest.raises(StorageError) as caught:
        store.check()
    assert caught.value.reason is StorageProblem.MISSING_ROOT
    assert caught.value.field == "config.root"


def test_write_creates_folders_and_leaves_no_temporary_file(local_root: Path) -> None:
    store = make_local(local_root)
    store.write("new/deeper/file.bin", b"data")
    assert (local_root / "new" / "deeper" / "file.bin").read_bytes() == b"data"
    assert os.listdir(local_root / "new" / "deeper") == ["file.bin"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_an_unreadable_root_is_named_at_check(tmp_path: Path) -> None:
    root = tmp_path / "locked"
    root.mkdir(mode=0)
    try:
        with pytest.raises(StorageError) as caught:
            build_datastore("local", {"root": str(root)}, local_roots=[tmp_path]).check()
        assert caught.value.reason is StorageProblem.BAD_CREDENTIALS
    finally:
        root.chmod(0o700)


def test_listing_a_large_folder_holds_one_entry_at_a_time(tmp_path: Path) -> None:
    """50,000 files; the listing's peak memory stays far below what holding them all would take
    (each entry is ~200 bytes: ~10 MB for all of them)."""
    root = tmp_path / "many"
    root.mkdir()
    for index in range(50_000):
        (root / f"{index:06}.jpg").touch()
    store = make_local(root)
    tracemalloc.start()
    try:
        count = sum(1 for _ in store.list_files(["*.jpg"]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert peak < 1_000_000, f"listing used {peak} bytes at its peak"
