"""Reading a multipart/form-data request body as it arrives, never whole: `form_files` turns the body's
chunks into files, each an iterator of chunks of at most `chunk_size` bytes, parsed incrementally by
python_multipart's push parser (no spooled `request.form()`). `blocking_body` hands a request's body to
code running on a worker thread, one chunk at a time, fetched on the event loop."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass

import anyio.from_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from tessera.core.errors import Invalid, TooLarge
from tessera.ingest.uploads import CHUNK_SIZE, human_bytes

Event = tuple[str, object]


@dataclass(frozen=True)
class FormFile:
    field: str
    filename: str  # as sent: may hold sub-folders (`photos/a.jpg`)
    content_type: str
    chunks: Iterator[bytes]


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise Invalid("must be multipart/form-data with a boundary", field="content-type")
    return boundary


class _Events:
    """The parser's callbacks as a queue of events, refilled from the body one slice at a time, so the
    queue never holds more than `chunk_size` bytes of file data."""

    def __init__(self, body: Iterable[bytes], boundary: bytes, chunk_size: int) -> None:
        self.body = iter(body)
        self.chunk_size = chunk_size
        self.queue: deque[Event] = deque()
        self.pending, self.offset = b"", 0  # the body's chunk being parsed, and how far
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        try:
            self.parser = MultipartParser(
                boundary,
                callbacks={
                    "on_part_begin": self._part_begin,
                    "on_header_field": self._header_field,
                    "on_header_value": self._header_value,
                    "on_header_end": self._header_end,
                    "on_headers_finished": lambda: self.queue.append(("headers", dict(self.headers))),
                    "on_part_data": self._part_data,
                    "on_part_end": lambda: self.queue.append(("part_end", None)),
                    "on_end": lambda: self.queue.append(("end", None)),
                },
            )
        except (ValueError, MultipartParseError) as error:
            raise Invalid(f"has an unusable boundary: {error}", field="content-type") from None

    def _part_begin(self) -> None:
        self.headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        self.headers[self.header_name.decode("latin-1").strip().lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self.queue.append(("data", data[start:end]))

    def next(self) -> Event:
        while not self.queue:
            if self.offset >= len(self.pending):
                chunk = next(self.body, None)
                if chunk is None:
                    raise Invalid("ended before the closing boundary of the multipart form", field="body")
                self.pending, self.offset = chunk, 0
            piece = self.pending[self.offset : self.offset + self.chunk_size]
            self.offset += self.chunk_size
            try:
                self.parser.write(piece)
            except MultipartParseError as error:
                raise Invalid(f"is not valid multipart/form-data: {error}", field="body") from None
        return self.queue.popleft()


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _part_chunks(events: _Events) -> Iterator[bytes]:
    while True:
        kind, value = events.next()
        if kind == "part_end":
            return
        if kind == "data":
            assert isinstance(value, bytes)
            yield value


def form_files(
    body: Iterable[bytes], content_type: str | None, *, chunk_size: int = CHUNK_SIZE
) -> Iterator[FormFile]:
    """The files of a multipart/form-data body, in order. Read each file's chunks before asking for the
    next file (what is left unread is skipped). Fields that are not files are refused; a file input left
    empty by a browser (no file name, no bytes) is skipped."""
    events = _Events(body, boundary_of(content_type), chunk_size)
    while True:
        kind, value = events.next()
        if kind == "end":
            return
        if kind != "headers":
            continue
        assert isinstance(value, dict)
        _, options = parse_options_header(value.get("content-disposition", b"").decode("latin-1"))
        field, filename = _text(options.get(b"name", b"")), options.get(b"filename")
        if filename is None:
            raise Invalid(f"only files are taken; the form field {field!r} is not a file", field="body")
        chunks = _part_chunks(events)
        content_type = _text(value.get("content-type", b"application/octet-stream"))
        if filename:
            yield FormFile(field, _text(filename), content_type, chunks)
        elif any(chunks):
            raise Invalid(f"the file of form field {field!r} has no name", field="body")
        for _ in chunks:  # whatever the reader left of this part
            pass


def refuse_declared_length(headers: Mapping[str, str], limit: int, message: str) -> None:
    """`TooLarge` (`message`) before a byte is read when the request declares a body over `limit`;
    `limited_body` still counts what comes, for a body that declares nothing or too little."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(message, limit_bytes=limit)


def limited_body(body: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """`body`, raising `TooLarge` once more than `limit` bytes have come."""
    received = 0
    for chunk in body:
        received += len(chunk)
        if received > limit:
            raise TooLarge(
                f"the upload is larger than the limit of {human_bytes(limit)} per request", limit_bytes=limit
            )
        yield chunk


def blocking_body(stream: AsyncIterator[bytes]) -> Generator[bytes, None, None]:
    """A request's body for code on a worker thread (started by anyio): each chunk is awaited on the event
    loop. A client that goes away ends it with `Invalid`."""

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    try:
        while True:
            try:
                chunk = anyio.from_thread.run(next_chunk)
            except ClientDisconnect:
                raise Invalid("the client stopped sending the upload", field="body") from None
            if chunk is None:
                return
            if chunk:
                yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):  # closing a stream that already failed
                anyio.from_thread.run(aclose)
