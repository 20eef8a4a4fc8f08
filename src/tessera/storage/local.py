"""Local folders. The root is resolved once (symlinks and all) and must lie under one of the folders the
server allows (`local_datastore_roots`); every path is resolved again and refused if its real path leaves
the root. Listing never follows a symlinked folder, and lists a symlinked file only if it stays inside."""

from __future__ import annotations

import itertools
import os
import stat as stat_module
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from fsspec.implementations.local import LocalFileSystem
from pydantic import BaseModel, ConfigDict, Field

from tessera.core.errors import Invalid, NotFound, TesseraError
from tessera.storage.base import FsspecDatastore, SourceFailed, copy_source, unexpected
from tessera.storage.errors import StorageError, StorageProblem
from tessera.storage.globs import UPLOAD_MARKER, Listing, check_patterns, compile_filter, plan_listings
from tessera.storage.paths import confine_real_path, is_inside
from tessera.storage.types import FileEntry

FOLDER_PAGE = 10_000  # directory entries read at a time by the fast listing


class LocalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(min_length=1, description="Absolute path of the folder, on the server.")


class LocalCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _entry(path: str, status: os.stat_result) -> FileEntry:
    return FileEntry(path=path, size=status.st_size, modified=datetime.fromtimestamp(status.st_mtime, UTC))


def confine_root(root: str, allowed_roots: Sequence[Path]) -> Path:
    """The real path of `root`, which must be absolute and inside one of `allowed_roots`."""
    if "\x00" in root or not os.path.isabs(root):
        raise Invalid("must be an absolute path on the server", field="config.root")
    real = Path(os.path.realpath(root))
    if not any(is_inside(Path(os.path.realpath(allowed)), real) for allowed in allowed_roots):
        allowed = ", ".join(str(folder) for folder in allowed_roots) or "none configured"
        raise Invalid(f"is outside the folders datastores may use ({allowed})", field="config.root")
    return real


class LocalDatastore(FsspecDatastore):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root_path = Path(os.path.realpath(root))
        super().__init__(LocalFileSystem(), str(self.root_path))

    def full_path(self, path: str) -> str:
        return str(confine_real_path(self.root_path, path))

    def iter_level(self, prefix: str, *, recursive: bool) -> Generator[FileEntry | str, None, None]:
        start = self.root_path / prefix
        if Path(os.path.realpath(start)) != start:  # a symlinked folder: not followed
            return
        pending = [prefix]
        while pending:
            yield from self._scan(pending.pop(), pending if recursive else None)

    def _scan(self, prefix: str, pending: list[str] | None) -> Generator[FileEntry | str, None, None]:
        try:
            scanner = os.scandir(self.root_path / prefix)
        except (FileNotFoundError, NotADirectoryError):
            return
        with scanner:
            for item in scanner:
                path = prefix + item.name
                if item.is_dir(follow_symlinks=False):
                    if pending is None:
                        yield path + "/"
                    else:
                        pending.append(path + "/")
                elif item.is_symlink():
                    entry = self._symlinked_file(path)
                    if entry is not None:
                        yield entry
                elif item.is_file(follow_symlinks=False):
                    yield _entry(path, item.stat(follow_symlinks=False))

    def list_path_pages(
        self, patterns: Sequence[str] = ("**",), suffixes: Sequence[str] = ()
    ) -> Iterator[list[tuple[str, int | None]]]:
        checked = check_patterns(patterns)  # here, not in the generator: bad patterns fail at the call
        return self._matching_pages(plan_listings(checked), compile_filter(checked, suffixes))

    def _matching_pages(
        self, listings: list[Listing], wanted: Callable[[str], bool] | None
    ) -> Iterator[list[tuple[str, int | None]]]:
        try:
            for listing in listings:
                for folder in self._folder_pages(listing.prefix, listing.depth):
                    paths = folder if wanted is None else [path for path in folder if wanted(path)]
                    page: list[tuple[str, int | None]] = [
                        (path, None) for path in paths if UPLOAD_MARKER not in path
                    ]
                    if page:
                        yield page
        except TesseraError:
            raise
        except Exception as error:
            raise self.explain(error) from error

    def _folder_pages(self, prefix: str, depth: int | None) -> Iterator[list[str]]:
        """The files under `prefix`, `depth` folders deep (None: all), a folder at a time, told apart from
        folders by the directory entry's type alone: no stat per file."""
        start = self.root_path / prefix
        if Path(os.path.realpath(start)) != start:  # a symlinked folder: not followed
            return
        pending: list[tuple[str, int | None]] = [(prefix, depth)]
        while pending:
            folder, left = pending.pop()
            try:
                scanner = os.scandir(self.root_path / folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            with scanner:
                while entries := list(itertools.islice(scanner, FOLDER_PAGE)):  # a huge folder: in pages
                    files = [folder + item.name for item in entries if item.is_file(follow_symlinks=False)]
                    for item in [item for item in entries if not item.is_file(follow_symlinks=False)]:
                        if item.is_dir(follow_symlinks=False):
                            if left is None or left > 1:
                                pending.append((f"{folder}{item.name}/", None if left is None else left - 1))
                        elif item.is_symlink() and self._symlinked_file(folder + item.name) is not None:
                            files.append(folder + item.name)
                    yield files

    def _symlinked_file(self, path: str) -> FileEntry | None:
        real = Path(os.path.realpath(self.root_path / path))
        if not is_inside(self.root_path, real):
            return None
        try:
            status = real.stat()
        except OSError:
            return None  # a dangling link
        return _entry(path, status) if stat_module.S_ISREG(status.st_mode) else None

    def write(self, path: str, source: IO[bytes] | bytes) -> FileEntry:
        target = Path(self.full_path(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        confine_real_path(self.root_path, path)  # the folders just made are inside too
        temporary = target.parent / f"{UPLOAD_MARKER}{uuid.uuid4().hex}-{target.name}"
        try:
            with open(temporary, "xb") as handle:
                copy_source(source, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except SourceFailed as failed:
            temporary.unlink(missing_ok=True)
            raise failed.original from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return self.stat(path)

    def check(self) -> None:
        if not self.root_path.is_dir():
            raise StorageError(
                f"the folder {str(self.root_path)!r} does not exist on the server",
                reason=StorageProblem.MISSING_ROOT,
                field="config.root",
            )
        super().check()

    def explain(self, error: Exception) -> TesseraError:
        if isinstance(error, PermissionError):
            return StorageError(
                f"the server may not read {error.filename or str(self.root_path)!r}",
                reason=StorageProblem.BAD_CREDENTIALS,
                field="config.root",
            )
        if isinstance(error, FileNotFoundError):
            return NotFound(f"no file {error.filename!r} in the datastore")
        return unexpected(error, field="config.root")
