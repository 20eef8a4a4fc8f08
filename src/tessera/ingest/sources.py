"""What a listed file gives: which files a dataset's media takes, and the items each one holds — one per
image or .txt file, one per row of a .csv or .jsonl file (the text from the dataset's text column).

Text that is not UTF-8 is decoded with replacement characters and its item flagged; a file that cannot
be read as what its name says becomes one broken item carrying the reason, and loading goes on."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from tessera.ingest.models import Media
from tessera.items.models import ItemHealth

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
TEXT_EXTENSIONS = frozenset({".txt", ".csv", ".jsonl"})
MAX_TEXT_CHARS = 1_000_000  # longer text items are refused as broken (no labeler reads a book in one task)
csv.field_size_limit(MAX_TEXT_CHARS + 1)


@dataclass(frozen=True)
class ItemSource:
    row_index: int = 0
    text: str | None = None
    health: ItemHealth = ItemHealth.ok
    reason: str | None = None


def extension(path: str) -> str:
    """`.jpg` for `a/b.JPG`; '' without one. (Called once per listed file: no Path objects here.)"""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def takes(media: Media, path: str) -> bool:
    return extension(path) in (IMAGE_EXTENSIONS if media == Media.image else TEXT_EXTENSIONS)


def suffixes(media: Media) -> tuple[str, ...]:
    """The extensions a media takes, for a listing to filter on (the same test as `takes`)."""
    return tuple(sorted(IMAGE_EXTENSIONS if media == Media.image else TEXT_EXTENSIONS))


def decode(data: bytes) -> tuple[str, bool]:
    """The text, and whether it needed replacement characters (it was not UTF-8)."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def _text_item(text: str, replaced: bool, row_index: int = 0) -> ItemSource:
    if len(text) > MAX_TEXT_CHARS:
        return ItemSource(row_index, None, ItemHealth.broken, f"longer than {MAX_TEXT_CHARS:,} characters")
    health = ItemHealth.replaced_characters if replaced else ItemHealth.ok
    reason = "not UTF-8: decoded with replacement characters" if replaced else None
    return ItemSource(row_index, text, health, reason)


def read_items(path: str, handle: IO[bytes], text_column: str | None) -> Iterator[ItemSource]:
    """The items of one text file."""
    kind = extension(path)
    if kind == ".txt":
        data = handle.read(MAX_TEXT_CHARS * 4 + 1)
        yield _text_item(*decode(data))
    elif kind == ".csv":
        yield from _csv_items(handle, text_column)
    elif kind == ".jsonl":
        yield from _jsonl_items(handle, text_column)


def _csv_items(handle: IO[bytes], text_column: str | None) -> Iterator[ItemSource]:
    stream = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        reader = csv.DictReader(stream)
        header = reader.fieldnames or []
        column = text_column or (header[0] if len(header) == 1 else None)
        if column is None or column not in header:
            wanted = f"column {text_column!r}" if text_column else "a text column (none was chosen)"
            yield ItemSource(0, None, ItemHealth.broken, f"{wanted} is not in the header {header}")
            return
        for row_index, row in enumerate(reader, start=1):
            yield _text_item(*_unescape(row.get(column) or ""), row_index)
    except (csv.Error, UnicodeError) as error:
        yield ItemSource(0, None, ItemHealth.broken, f"not a readable CSV file: {error}")


def _unescape(value: str) -> tuple[str, bool]:
    """Undo surrogateescape: bytes that were not UTF-8 become replacement characters."""
    if not any("\udc80" <= character <= "\udcff" for character in value):
        return value, False
    return value.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace"), True


def _jsonl_items(handle: IO[bytes], text_column: str | None) -> Iterator[ItemSource]:
    column = text_column or "text"
    for row_index, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        text, replaced = decode(line)
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            yield ItemSource(row_index, None, ItemHealth.broken, f"line {row_index} is not JSON: {error.msg}")
            continue
        value = record.get(column) if isinstance(record, dict) else None
        if not isinstance(value, str):
            yield ItemSource(
                row_index, None, ItemHealth.broken, f"line {row_index} has no text field {column!r}"
            )
            continue
        yield _text_item(value, replaced, row_index)
