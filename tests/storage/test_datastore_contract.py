"""One behaviour on every backend (local folder, S3 on moto, Azure Blob on Azurite): listing with globs,
stat, ranged reads, writes that are all or nothing, removal, and paths that cannot leave the root."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from tessera.core.errors import Invalid, NotFound
from tessera.storage import Datastore
from tests.storage.conftest import TREE

UNSAFE_PATHS = [
    "../secret.txt",
    "photos/../../secret.txt",
    "/etc/passwd",
    "C:/Windows/win.ini",
    "c:secret",
    "photos\\..\\..\\secret.txt",
    "file:///etc/passwd",
    "s3://other-bucket/key.jpg",
    "az://other/key.jpg",
    "%2e%2e/secret.txt",
    "%2E%2E%2Fsecret.txt",
    "%252e%252e/secret.txt",
    "photos%2f..%2f..%2fsecret.txt",
    "a.jpg\x00.png",
    "a\nb.jpg",
    "./a.jpg",
    "photos//cat.jpg",
    "photos/",
    "",
    "memory::a.jpg",
]


def listed(store: Datastore, *patterns: str) -> list[str]:
    return sorted(entry.path for entry in store.list_files(patterns))


def test_listing_everything_gives_every_file_with_its_size(store: Datastore) -> None:
    entries = {entry.path: entry for entry in store.list_files()}
    assert sorted(entries) == sorted(TREE)
    for path, entry in entries.items():
        assert entry.size == len(TREE[path])
        assert isinstance(entry.modified, datetime)
        assert entry.modified.tzinfo is not None


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["*.jpg"], ["B.JPG", "a.jpg"]),
        (["**/*.jpg"], ["B.JPG", "a.jpg", "photos/2024/deep/y.jpg", "photos/cat.jpg"]),
        (["photos/**"], ["photos/2024/deep/y.jpg", "photos/2024/x.JPEG", "photos/cat.jpg", "photos/dog.png"]),
        (["photos/*"], ["photos/cat.jpg", "photos/dog.png"]),
        (["photos/*/*"], ["photos/2024/x.JPEG"]),
        (["**/*.*"], sorted(TREE)),
        (["**/*.jp*g"], ["B.JPG", "a.jpg", "photos/2024/deep/y.jpg", "photos/2024/x.JPEG", "photos/cat.jpg"]),
        (["*.txt", "docs/**"], ["docs/readme.md", "notes.txt"]),
        (["photos/**", "**/*.png", "*.jpg"], ["B.JPG", "a.jpg", "photos/2024/deep/y.jpg", "photos/2024/x.JPEG",
                                              "photos/cat.jpg", "photos/dog.png"]),
        (["[ab].jpg"], ["B.JPG", "a.jpg"]),
        (["[!a]*.jpg"], ["B.JPG"]),
        (["?.jpg"], ["B.JPG", "a.jpg"]),
        (["photos/2024/deep/y.jpg"], ["photos/2024/deep/y.jpg"]),
        (["nothing/**"], []),
        (["Photos/**"], []),
    ],
)  # fmt: skip
def test_globs_select_files(store: Datastore, patterns: list[str], expected: list[str]) -> None:
    assert listed(store, *patterns) == expected


def test_a_root_prefix_is_the_whole_world_of_the_datastore(store_factory: Callable[..., Datastore]) -> None:
    store = store_factory(prefix="photos")
    assert listed(store, "**") == ["2024/deep/y.jpg", "2024/x.JPEG", "cat.jpg", "dog.png"]
    assert listed(store, "*.jpg") == ["cat.jpg"]
    assert store.stat("cat.jpg").size == len(TREE["photos/cat.jpg"])
    with pytest.raises(NotFound):
        store.stat("a.jpg")
    with pytest.raises(Invalid):
        store.stat("../a.jpg")


def test_listing_streams_and_can_be_abandoned(store: Datastore) -> None:
    entries = store.list_files(["**"])
    assert isinstance(entries, Iterator)
    first = next(entries)
    assert first.path in TREE
    entries.close()  # type: ignore[attr-defined]


def test_bad_patterns_are_refused_at_the_call(store: Datastore) -> None:
    for pattern in ("../*", "/etc/*", "s3://other/**", "%2e%2e/**", "a\\*"):
        with pytest.raises(Invalid) as caught:
            store.list_files([pattern])
        assert caught.value.field is not None
        assert caught.value.field.startswith("patterns.")


def test_stat_gives_size_and_modified_time(store: Datastore) -> None:
    entry = store.stat("photos/cat.jpg")
    assert entry.path == "photos/cat.jpg"
    assert entry.size == 300
    assert entry.modified is not None


def test_stat_of_a_missing_file_or_a_folder_is_not_found(store: Datastore) -> None:
    with pytest.raises(NotFound):
        store.stat("photos/missing.jpg")
    with pytest.raises(NotFound):
        store.stat("photos")
    with pytest.raises(NotFound):
        store.open("photos/missing.jpg")
    with pytest.raises(NotFound):
        store.open("photos")


def test_open_reads_ranges(store: Datastore) -> None:
    with store.open("a.jpg") as handle:
        assert handle.seekable()
        handle.seek(3)
        assert handle.read(4) == b"3456"
        handle.seek(-2, io.SEEK_END)
        assert handle.read() == b"89"
        handle.seek(0)
        assert handle.read() == TREE["a.jpg"]


def test_write_stores_bytes_and_streams(store: Datastore) -> None:
    entry = store.write("uploads/new.bin", b"hello")
    assert (entry.path, entry.size) == ("uploads/new.bin", 5)
    big = bytes(range(256)) * 40_000  # 10 MB: more than one upload block
    assert store.write("uploads/big.bin", io.BytesIO(big)).size == len(big)
    with store.open("uploads/big.bin") as handle:
        handle.seek(5_000_000)
        assert handle.read(256) == big[5_000_000:5_000_256]
    store.write("uploads/new.bin", b"replaced")
    with store.open("uploads/new.bin") as handle:
        assert handle.read() == b"replaced"
    assert listed(store, "uploads/**") == ["uploads/big.bin", "uploads/new.bin"]


class BrokenSource(io.RawIOBase):
    """Gives some bytes, then fails, like a client that disconnects mid-upload."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.sent > 3_000_000:
            raise ConnectionResetError("the client went away")
        buffer[:1000] = b"x" * 1000
        self.sent += 1000
        return 1000


def test_a_failed_write_leaves_nothing_behind(store: Datastore) -> None:
    with pytest.raises(ConnectionResetError):
        store.write("uploads/partial.bin", BrokenSource())  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.stat("uploads/partial.bin")
    assert listed(store, "uploads/**") == []
    store.write("a.jpg", b"new content")
    with pytest.raises(ConnectionResetError):
        store.write("a.jpg", BrokenSource())  # type: ignore[arg-type]
    with store.open("a.jpg") as handle:
        assert handle.read() == b"new content"


def test_remove_deletes_a_file_and_a_missing_one_is_no_error(store: Datastore) -> None:
    store.write("uploads/gone.bin", b"soon gone")
    store.remove("uploads/gone.bin")
    with pytest.raises(NotFound):
        store.stat("uploads/gone.bin")
    store.remove("uploads/gone.bin")
    assert listed(store, "uploads/**") == []


@pytest.mark.parametrize("path", UNSAFE_PATHS)
def test_unsafe_paths_are_refused_before_anything_is_read(store: Datastore, path: str) -> None:
    with pytest.raises(Invalid) as caught:
        store.stat(path)
    assert caught.value.field == "path"
    with pytest.raises(Invalid):
        store.open(path)
    with pytest.raises(Invalid):
        store.write(path, b"nope")
    with pytest.raises(Invalid):
        store.remove(path)


def test_check_passes_on_a_good_datastore(store: Datastore) -> None:
    store.check()
