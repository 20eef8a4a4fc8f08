"""Path safety: every path a datastore is given names a file inside its root, in exactly one spelling.

Refused (with `Invalid`, before anything is read): empty paths, absolute paths, `..` and `.` segments, empty
segments (`a//b`, a trailing `/`), backslashes, drive letters (`C:`), URLs (`file://…`, `s3://…`), NUL and
other control characters, and any of these hidden behind percent-encoding (`%2e%2e`, `%2F`, `%252e`).
Local folders also resolve symlinks and refuse a real path outside the root (`confine_real_path`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

from tessera.core.errors import Invalid

MAX_PATH_BYTES = 1024  # S3's and Azure's key limit; GCS allows the same
GLOB_CHARACTERS = frozenset("*?[")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|::")


def _problem(path: str) -> str | None:
    """What makes `path` unsafe, or None. Checks one spelling; `clean_path` also checks decoded ones."""
    if not path:
        return "is empty"
    if any(ord(character) < 32 or ord(character) == 127 for character in path):
        return "contains a control character"
    if "\\" in path:
        return "contains a backslash; use / between folders"
    if _SCHEME.search(path):
        return "is a URL; give a path relative to the datastore's root"
    if path.startswith("/") or _DRIVE.match(path):
        return "is absolute; give a path relative to the datastore's root"
    for segment in path.split("/"):
        if segment == "..":
            return "goes up a folder (..)"
        if segment in ("", "."):
            return "has an empty or '.' segment"
    return None


def _decodings(path: str) -> list[str]:
    """`path` and each percent-decoding of it, until decoding changes nothing (catches %252e%252e)."""
    spellings = [path]
    for _ in range(4):
        decoded = unquote(spellings[-1])
        if decoded == spellings[-1]:
            break
        spellings.append(decoded)
    return spellings


def clean_path(path: str, *, field: str = "path") -> str:
    """`path` unchanged when it safely names something inside the root; otherwise `Invalid`."""
    if not isinstance(path, str):
        raise Invalid("must be a string", field=field)
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise Invalid(f"is longer than {MAX_PATH_BYTES} bytes", field=field)
    for spelling in _decodings(path):
        problem = _problem(spelling)
        if problem is not None:
            raise Invalid(f"{problem}: {path!r}", field=field)
    return path


def clean_prefix(prefix: str, *, field: str = "config.prefix") -> str:
    """A root prefix inside a bucket: '' or a safe path, returned without a trailing slash."""
    stripped = prefix.strip("/") if isinstance(prefix, str) else prefix
    return "" if stripped == "" else clean_path(stripped, field=field)


def clean_pattern(pattern: str, *, field: str = "patterns") -> str:
    """A glob pattern (`photos/**`, `**/*.jpg`) under the same rules as a path."""
    return clean_path(pattern, field=field)


def has_glob(segment: str) -> bool:
    return any(character in GLOB_CHARACTERS for character in segment)


def is_inside(root: Path, real: Path) -> bool:
    return real == root or root in real.parents


def confine_real_path(root: Path, path: str, *, field: str = "path") -> Path:
    """The real path (symlinks resolved) of `path` under the real `root`; `Invalid` if it lies outside."""
    real = Path(os.path.realpath(root / clean_path(path, field=field)))
    if not is_inside(root, real):
        raise Invalid(f"leads outside the datastore (through a symlink): {path!r}", field=field)
    return real
