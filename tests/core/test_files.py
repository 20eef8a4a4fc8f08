from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tessera.core.files import replaced_atomically, write_bytes_atomically
from tessera.ingest.thumbnails import store_thumbnail

WRITERS = 8
WRITES = 150


def test_threads_replacing_the_same_file_at_once_each_write_it_whole(tmp_path: Path) -> None:
    # What the API does when a labeler's thumbnail request and the look-ahead make the same thumbnail:
    # with a temporary name of the process id alone, the threads shared one file and a rename failed.
    target = tmp_path / "thumbnails" / "1" / "7-512-abc.jpg"
    contents = [bytes([index]) * 200_000 for index in range(WRITERS)]
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(index: int) -> None:
        start.wait()
        try:
            for _ in range(WRITES):
                store_thumbnail(target, contents[index])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in contents  # one writer's content, whole
    assert [path.name for path in target.parent.iterdir()] == [target.name]  # no temporary file left


def test_a_write_that_fails_leaves_the_old_file_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    write_bytes_atomically(target, b"old")
    with pytest.raises(RuntimeError), replaced_atomically(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["model.npz"]


def test_the_file_gets_the_mode_asked_for_and_folders_are_made(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "first-admin-password.txt"
    write_bytes_atomically(target, b"secret\n", mode=0o600)
    assert target.read_bytes() == b"secret\n"
    assert target.stat().st_mode & 0o777 == 0o600
    with replaced_atomically(target, durable=True) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
