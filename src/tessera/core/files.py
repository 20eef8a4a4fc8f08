"""Replacing a file whole: written under a name of its own in the same folder, then renamed over the
target, so that a reader sees the old file or the new one and never a part of either.

The name is drawn at random and created exclusively, so that any number of writers of the same target,
threads of one process as much as processes, never write into each other's file: a name made of the
process id alone had two threads of the API (a labeler's thumbnail request and the look-ahead making
the same thumbnail) share one temporary file, and the second rename failed on a file the first had
already moved (an HTTP 500). The last writer's rename wins, whole.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def replaced_atomically(path: Path, *, mode: int = 0o644, durable: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write the new content of `path` into (folders made as needed; the file gets
    permission bits `mode`, less the umask). It replaces `path` when the block ends, after reaching the
    disk when `durable`; when the block raises, `path` is left as it was and nothing of the attempt stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # gone already after the rename


def write_bytes_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """`path` replaced whole by `data` (see `replaced_atomically`)."""
    with replaced_atomically(path, mode=mode) as handle:
        handle.write(data)
