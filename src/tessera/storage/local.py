"""Local folders. The root is resolved once (symlinks and all) and must lie under one of the folders the
server allows (`local_datastore_roots`); every path is resolved again and refused if its real path leaves
the root. Listing never follows a symlinked folder, and lists a symlinked file only if it stays inside."""

from __future__ import annotations

import os
import stat as stat_module
import uuid
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from fsspec.implementations.local import LocalFileSystem
from pydantic import BaseModel, ConfigDict, Field

from tessera.core.errors import Invalid, NotFound, TesseraError
from tessera.storage.base import FsspecDatastore, SourceFailed, copy_source, unexpected
from tessera.storage.errors import StorageError, StorageProblem
from tessera.storage.globs import UPLOAD_MARKER
from tessera.storage.paths import confine_real_path, is_inside
from tessera.storage.types import FileEntry


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
