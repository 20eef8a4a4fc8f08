"""Shapes shared by every router: pages and errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi.responses import Response
from pydantic import BaseModel, Field

from tessera.core.ids import MAX_ID, encode_cursor

# An id inside a request body: what an id column can hold (a larger one is a 422, not a 500).
EntityId = Annotated[int, Field(ge=1, le=MAX_ID)]

ItemT = TypeVar("ItemT")
ModelT = TypeVar("ModelT", bound=BaseModel)


class HasId(Protocol):
    id: int


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")


def page_response(rows: Sequence[Any], limit: int, item_type: type[ModelT]) -> Response:
    """A page of `rows` (fetched in id order, at most `limit`) as JSON, with a cursor when it is full:
    the concrete `Page[item_type]` through `json_response`."""
    cursor = encode_cursor(rows[-1].id) if len(rows) == limit and rows else None
    page = Page[item_type](  # type: ignore[valid-type]
        items=[item_type.model_validate(row) for row in rows], next_cursor=cursor
    )
    return json_response(page)


def json_response(model: BaseModel) -> Response:
    """The model as JSON, serialized once by pydantic: returned as is, FastAPI would dump it to a dict and
    validate that again against the route's response model (it was built as that model)."""
    return Response(model.model_dump_json(), media_type="application/json")


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (401, 403, 404, 409, 422)
}
