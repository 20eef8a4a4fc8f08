"""What every fsspec-backed datastore shares: pattern listing over one primitive (`iter_level`), stat,
open, write (to a temporary name, then moved into place), remove, check, and turning backend errors into
ours."""

from __future__ import annotations

import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Generator, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any, ClassVar, TypeVar, cast

from fsspec.asyn import sync
from fsspec.spec import AbstractFileSystem

from tessera.core.errors import NotFound, TesseraError
from tessera.storage.errors import StorageError, StorageProblem
from tessera.storage.globs import (
    UPLOAD_MARKER,
    Listing,
    check_patterns,
    compile_filter,
    compile_patterns,
    plan_listings,
)
from tessera.storage.paths import clean_path
from tessera.storage.types import FileEntry

T = TypeVar("T")
PAGE_SIZE = 1000
COPY_CHUNK = 8 * 1024 * 1024


def to_datetime(value: Any) -> datetime | None:
    """A backend's modified time (datetime, POSIX seconds or ISO text) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        return to_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return None


def clean_etag(value: Any) -> str | None:
    return str(value).strip('"') if value else None


async def _pages(items: AsyncIterable[T], size: int) -> Any:
    page: list[T] = []
    async for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def iterate_pages(
    fs: AbstractFileSystem, items: AsyncIterable[T], size: int = PAGE_SIZE
) -> Iterator[list[T]]:
    """Drive an async listing on the filesystem's event loop one page at a time (never all of it)."""
    pages = _pages(items, size)
    try:
        while True:
            try:
                yield cast("list[T]", sync(fs.loop, pages.__anext__))
            except StopAsyncIteration:
                return
    finally:
        with contextlib.suppress(RuntimeError):  # interrupted mid-page: nothing left to close cleanly
            sync(fs.loop, pages.aclose)


def _paged(items: Iterator[T], size: int = PAGE_SIZE) -> Iterator[list[T]]:
    page: list[T] = []
    for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


class FsspecDatastore(ABC):
    """A datastore over an fsspec filesystem. `root` is the backend path of the datastore's root
    (`bucket/prefix`, `/abs/folder`); relative paths are checked, then joined under it."""

    kind: ClassVar[str]

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    # -- what each backend provides ---------------------------------------------------------------------

    @abstractmethod
    def iter_level(self, prefix: str, *, recursive: bool) -> Generator[FileEntry | str, None, None]:
        """Entries under `prefix` ('' or 'a/b/'): every file below it when `recursive`, else the files
        directly in it and its sub-folders (as 'a/b/c/' strings)."""

    @abstractmethod
    def explain(self, error: Exception) -> TesseraError:
        """Our error for a backend's exception (bad credentials, missing bucket, unreachable, …)."""

    def full_path(self, path: str) -> str:
        return f"{self.root}/{clean_path(path)}"

    # -- the protocol -----------------------------------------------------------------------------------

    def list_files(self, patterns: Sequence[str] = ("**",)) -> Iterator[FileEntry]:
        checked = check_patterns(patterns)  # here, not in the generator: bad patterns fail at the call
        return self._iter_matching(plan_listings(checked), compile_patterns(checked))

    def list_path_pages(
        self, patterns: Sequence[str] = ("**",), suffixes: Sequence[str] = ()
    ) -> Iterator[list[tuple[str, int | None]]]:
        wanted = compile_filter((), suffixes) or (lambda _path: True)
        entries = self.list_files(patterns)  # checks the patterns now, not at the first page
        return _paged((entry.path, entry.size) for entry in entries if wanted(entry.path))

    def _iter_matching(self, listings: list[Listing], matches: Any) -> Iterator[FileEntry]:
        try:
            for listing in listings:
                for entry in self._walk(listing.prefix, listing.depth):
                    if matches(entry.path) and UPLOAD_MARKER not in entry.path:
                        yield entry
        except TesseraError:
            raise
        except Exception as error:
            raise self.explain(error) from error

    def _walk(self, prefix: str, depth: int | None) -> Iterator[FileEntry]:
        for entry in self.iter_level(prefix, recursive=depth is None):
            if isinstance(entry, FileEntry):
                yield entry
            elif depth is not None and depth > 1:
                yield from self._walk(entry, depth - 1)

    def stat(self, path: str) -> FileEntry:
        full = self.full_path(path)
        try:
            info = self.fs.info(full)
        except FileNotFoundError:
            raise NotFound(f"no file {path!r} in the datastore") from None
        except Exception as error:
            raise self.explain(error) from error
        if info.get("type") != "file":
            raise NotFound(f"{path!r} is a folder, not a file")
        return self.entry_from_info(path, info)

    def entry_from_info(self, path: str, info: dict[str, Any]) -> FileEntry:
        modified = next(
            (info[key] for key in ("LastModified", "last_modified", "updated", "mtime") if info.get(key)),
            None,
        )
        return FileEntry(
            path=path,
            size=int(info.get("size") or 0),
            modified=to_datetime(modified),
            etag=clean_etag(info.get("ETag") or info.get("etag")),
        )

    def open(self, path: str) -> IO[bytes]:
        full = self.full_path(path)
        try:
            handle = self.fs.open(full, "rb", cache_type="readahead")
            if getattr(handle, "details", {}).get("type") == "directory":  # object stores' "folders"
                handle.close()
                raise NotFound(f"{path!r} is a folder, not a file")
            return cast("IO[bytes]", handle)
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"no file {path!r} in the datastore") from None
        except TesseraError:
            raise
        except Exception as error:
            raise self.explain(error) from error

    def write(self, path: str, source: IO[bytes] | bytes) -> FileEntry:
        full = self.full_path(path)
        parent, _, name = full.rpartition("/")
        temporary = f"{parent}/{UPLOAD_MARKER}{uuid.uuid4().hex}-{name}"
        try:
            with self.fs.open(temporary, "wb") as target:
                copy_source(source, target)
            self.fs.mv(temporary, full)
        except SourceFailed as failed:
            self._remove_quietly(temporary)
            raise failed.original from None
        except BaseException as error:
            self._remove_quietly(temporary)
            if isinstance(error, Exception) and not isinstance(error, TesseraError):
                raise self.explain(error) from error
            raise
        return self.stat(path)

    def remove(self, path: str) -> None:
        full = self.full_path(path)
        try:
            self.fs.rm(full)
        except FileNotFoundError:
            return  # gone already: what was asked
        except TesseraError:
            raise
        except Exception as error:
            raise self.explain(error) from error

    def _remove_quietly(self, full: str) -> None:
        try:
            if self.fs.exists(full):
                self.fs.rm(full)
        except Exception:  # noqa: S110 - best effort; the original error is what matters
            pass

    def check(self) -> None:
        entries = self.iter_level("", recursive=False)
        try:
            next(entries, None)
        except TesseraError:
            raise
        except Exception as error:
            raise self.explain(error) from error
        finally:
            entries.close()


class SourceFailed(Exception):
    """Reading what was to be written failed (the client went away): not the datastore's fault."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def copy_source(source: IO[bytes] | bytes, target: IO[bytes]) -> None:
    """Copy in chunks; a failure to read `source` is raised as `SourceFailed`."""
    if isinstance(source, bytes | bytearray | memoryview):
        target.write(bytes(source))
        return
    while True:
        try:
            chunk = source.read(COPY_CHUNK)
        except Exception as error:
            raise SourceFailed(error) from error
        if not chunk:
            return
        target.write(chunk)


def unexpected(error: Exception, *, field: str | None = None) -> StorageError:
    return StorageError(
        f"the datastore failed: {type(error).__name__}: {error}", reason=StorageProblem.FAILED, field=field
    )
