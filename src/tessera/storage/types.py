"""What a datastore is (the protocol every backend follows) and the entries it lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a datastore. `path` is relative to the datastore's root, `/`-separated."""

    path: str
    size: int
    modified: datetime | None = None
    etag: str | None = None


class Datastore(Protocol):
    """A folder or bucket prefix that Tessera reads items from (and writes uploads to).

    Every path given to or returned by a datastore is relative to its root and checked by
    `tessera.storage.paths`; nothing outside the root can be named.
    """

    kind: ClassVar[str]

    def list_files(self, patterns: Sequence[str] = ("**",)) -> Iterator[FileEntry]:
        """The files matching any of the glob patterns, streamed page by page, in the backend's order."""
        ...

    def list_path_pages(
        self, patterns: Sequence[str] = ("**",), suffixes: Sequence[str] = ()
    ) -> Iterator[list[tuple[str, int | None]]]:
        """The files `list_files` gives, only those whose name ends in one of `suffixes` (".jpg", any case)
        when some are given, as pages of (path, size), with the size only where the listing has it for
        nothing (object stores list sizes; a local folder is listed without a stat per file, several times
        faster): the listing that loads millions of items, a page at a time."""
        ...

    def stat(self, path: str) -> FileEntry:
        """The file's size, modified time and etag; `NotFound` when there is none."""
        ...

    def open(self, path: str) -> IO[bytes]:
        """The file opened for binary reading, seekable (reads fetch only the ranges asked for)."""
        ...

    def write(self, path: str, source: IO[bytes] | bytes) -> FileEntry:
        """Store `source` at `path`, replacing what was there; a failed write leaves nothing under `path`."""
        ...

    def remove(self, path: str) -> None:
        """Delete the file at `path` (uploads take back what a failed request wrote); a file that is not
        there is no error (object stores cannot tell)."""
        ...

    def check(self) -> None:
        """Test the connection: raise `StorageError` saying what is wrong, or return."""
        ...
