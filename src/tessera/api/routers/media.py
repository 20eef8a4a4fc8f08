"""Items' content and thumbnails, streamed from their datastore with ETag and byte ranges."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from tessera.accounts.policies import authorize
from tessera.accounts.policies.items import ItemPolicy
from tessera.api.deps import ActorDep, DatabaseDep, ItemId, SessionDep, SettingsDep
from tessera.api.schemas.common import ERROR_RESPONSES
from tessera.core.errors import Invalid
from tessera.ingest.media import get_item, item_thumbnail, locate_item_file, text_version
from tessera.ingest.thumbnails import THUMBNAIL_SIZES

router = APIRouter(prefix="/api/items", tags=["media"], responses=ERROR_RESPONSES)
CHUNK = 256 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CACHING = "private, max-age=3600"


def _not_modified(request: Request, etag: str, headers: dict[str, str]) -> Response | None:
    """304 when the client already holds this version."""
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return None


def _stream(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end), inclusive, of one `bytes=` range; None: the whole file; ValueError: unsatisfiable."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None  # a form we do not serve (several ranges): the whole file, as RFC 9110 allows
    first, last = match.groups()
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError
    return start, end


@router.get("/{item_id}/content", response_class=Response)
def read_item_content(
    item_id: ItemId,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    database: DatabaseDep,
    settings: SettingsDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    """The item's file as stored (images, .txt), or its text (rows of .csv / .jsonl), with an ETag; byte
    ranges are served (206) for files."""
    item = get_item(session, item_id)
    authorize(actor, ItemPolicy.read(item.project_id))
    if item.text is not None:
        etag = f'"{text_version(item.text)}"'
        return _not_modified(request, etag, {"ETag": etag}) or Response(
            item.text, media_type="text/plain; charset=utf-8", headers={"ETag": etag}
        )
    located = locate_item_file(session, database, settings, item)
    etag, size = f'"{located.version}"', located.entry.size
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": CACHING}
    if (unchanged := _not_modified(request, etag, headers)) is not None:
        return unchanged
    try:
        wanted = _byte_range(range_header, size)
    except ValueError:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size - 1)
    length = max(0, end - start + 1)
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    return StreamingResponse(
        _stream(located.open(), start, length),
        status_code=206 if wanted else 200,
        media_type=located.content_type,
        headers=headers,
    )


@router.get("/{item_id}/thumbnail", response_class=Response)
def read_item_thumbnail(
    item_id: ItemId,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    database: DatabaseDep,
    settings: SettingsDep,
    size: Annotated[int, Query(description="Longer side in pixels: 128, 256 or 512")] = 256,
) -> Response:
    """A JPEG thumbnail of an image item, made on first request (Pillow draft mode) and cached on disk."""
    if size not in THUMBNAIL_SIZES:
        raise Invalid(f"must be one of {', '.join(map(str, THUMBNAIL_SIZES))}", field="size")
    item = get_item(session, item_id)
    authorize(actor, ItemPolicy.read(item.project_id))
    located = locate_item_file(session, database, settings, item)
    etag = f'"{located.version}-{size}"'
    headers = {"ETag": etag, "Cache-Control": CACHING}
    if (unchanged := _not_modified(request, etag, headers)) is not None:
        return unchanged
    data = item_thumbnail(database, settings, item, located, size)
    return Response(data, media_type="image/jpeg", headers=headers)
