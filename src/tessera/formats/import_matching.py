"""Finding the items an import's records name, in this order:

1. the exact path in the datastore (`photos/a.jpg`), or the URL of the item's file as Tessera builds it
   (`file:///…/photos/a.jpg`, `s3://bucket/prefix/photos/a.jpg`, …);
2. a URL or an absolute path that ends with the item's path (`https://host/x/photos/a.jpg`,
   `/mnt/data/photos/a.jpg`, Label Studio's `/data/local-files/?d=photos/a.jpg`): the longest such path;
3. the file name alone (`a.jpg`), when exactly one item's file has it;
4. text items: the text itself (exact), or — CoNLL — the text with every whitespace character left out.

Rows of a table file (.csv, .jsonl datasets) share a path: the record's row (`row_index`) or text picks
one. A reference two items fit equally is ambiguous, and reported as such, never guessed."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.formats.import_records import Reference
from tessera.ingest.models import Dataset, Datastore, ProjectData
from tessera.items.models import Item
from tessera.projects.models import Project
from tessera.storage.urls import file_url

SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
LABEL_STUDIO_UPLOAD = re.compile(r"^[0-9a-f]{8}-(.+)$")


@dataclass
class Matches:
    items: dict[int, int] = field(default_factory=dict)  # record position in the file's records → item id
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)


@dataclass
class _Row:
    item_id: int
    row_index: int
    text: str | None


class ItemIndex:
    """The project's items by path, file name and (when a record needs it) text."""

    def __init__(self, session: Session, project: Project, *, with_text: bool) -> None:
        columns = (Item.id, Item.path, Item.row_index, Item.text if with_text else Item.id)
        self.by_path: dict[str, list[_Row]] = defaultdict(list)
        self.by_name: dict[str, set[str]] = defaultdict(set)
        self.by_text: dict[str, list[int]] = defaultdict(list)
        self.by_content: dict[str, list[int]] = defaultdict(list)
        for item_id, path, row_index, text in session.execute(
            select(*columns).where(Item.project_id == project.id)
        ):
            text = text if with_text and isinstance(text, str) else None
            self.by_path[path].append(_Row(item_id, row_index, text))
            self.by_name[path.rsplit("/", 1)[-1]].add(path)
            if text is not None:
                self.by_text[text].append(item_id)
                self.by_content["".join(text.split())].append(item_id)
        self.url_prefix = _url_prefix(session, project)

    def find(self, reference: Reference) -> tuple[int | None, bool]:
        """(the item id, or None; whether None means several items fit)."""
        for where in (reference.path, reference.url):
            if not where:
                continue
            path, ambiguous = self._path(where)
            if ambiguous:
                return None, True
            if path is not None:
                return self._row(self.by_path[path], reference)
        if reference.text is not None:
            return _one(self.by_text.get(reference.text, []))
        if reference.content is not None:
            return _one(self.by_content.get("".join(reference.content.split()), []))
        return None, False

    def _path(self, where: str) -> tuple[str | None, bool]:
        segments = _segments(where, self.url_prefix)
        for start in range(len(segments)):
            suffix = "/".join(segments[start:])
            if suffix in self.by_path:
                return suffix, False
        name = segments[-1] if segments else ""
        if "/data/upload/" in where and (uploaded := LABEL_STUDIO_UPLOAD.match(name)):
            name = uploaded.group(1)  # Label Studio stores an upload as <8 hex digits>-<its name>
        named = self.by_name.get(name, set())
        if len(named) == 1:
            return next(iter(named)), False
        return None, len(named) > 1

    def _row(self, rows: Sequence[_Row], reference: Reference) -> tuple[int | None, bool]:
        if len(rows) == 1 and reference.row_index in (None, rows[0].row_index):
            return rows[0].item_id, False
        if reference.row_index is not None:
            return _one([row.item_id for row in rows if row.row_index == reference.row_index])
        if reference.text is not None:
            return _one([row.item_id for row in rows if row.text == reference.text])
        if reference.content is not None:
            squeezed = "".join(reference.content.split())
            return _one(
                [
                    row.item_id
                    for row in rows
                    if row.text is not None and "".join(row.text.split()) == squeezed
                ]
            )
        return None, len(rows) > 1


def _one(item_ids: Sequence[int]) -> tuple[int | None, bool]:
    return (item_ids[0], False) if len(item_ids) == 1 else (None, len(item_ids) > 1)


def _segments(where: str, url_prefix: str | None) -> list[str]:
    """The reference's path, as segments: the datastore-relative path first when it is the datastore's
    own URL."""
    if url_prefix and where.startswith(url_prefix):
        return [part for part in unquote(where[len(url_prefix) :]).split("/") if part]
    path = where.replace("\\", "/")
    if SCHEME.match(where) or where.startswith("/data/"):
        try:
            parts = urlsplit(where)
        except ValueError:  # e.g. an unclosed [IPv6] host: read it as a plain path
            parts = None
        if parts is not None:
            wanted = parse_qs(parts.query).get("d")  # Label Studio's local files: /data/local-files/?d=<path>
            path = wanted[0] if wanted else unquote(parts.path)
    return [part for part in path.split("/") if part and part != "."]


def _url_prefix(session: Session, project: Project) -> str | None:
    """The URL of the project's datastore root, as exports write item URLs (through `file_url`)."""
    row = session.execute(
        select(Datastore.kind, Datastore.config)
        .join(Dataset, Dataset.datastore_id == Datastore.id)
        .join(ProjectData, ProjectData.dataset_id == Dataset.id)
        .where(ProjectData.project_id == project.id)
    ).first()
    if row is None:
        return None
    try:
        return file_url(row.kind, dict(row.config), "x")[:-1]
    except (KeyError, ValueError):
        return None


def match_references(session: Session, project: Project, references: Sequence[Reference]) -> Matches:
    with_text = any(reference.text is not None or reference.content is not None for reference in references)
    index = ItemIndex(session, project, with_text=with_text)
    matches = Matches()
    for position, reference in enumerate(references):
        item_id, ambiguous = index.find(reference)
        if item_id is not None:
            matches.items[position] = item_id
        elif ambiguous:
            matches.ambiguous.append(reference.shown())
        else:
            matches.unmatched.append(reference.shown())
    return matches
