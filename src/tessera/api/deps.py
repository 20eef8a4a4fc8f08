"""Request dependencies as typed aliases: SessionDep, ActorDep, SettingsDep, PageDep."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

import anyio
from anyio import to_thread
from fastapi import BackgroundTasks, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from tessera.accounts.policies import Actor
from tessera.accounts.service import (
    find_api_token,
    find_browser_session,
    get_user,
    record_api_token_use,
    token_use_is_stale,
)
from tessera.core.errors import Forbidden, Invalid, Unauthenticated
from tessera.core.ids import MAX_ID, decode_cursor
from tessera.core.settings import Settings
from tessera.db.session import Database

# Every id in a path: an integer the database can hold (a larger one is a 422 naming it, not a 500).
ProjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="Project id")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="User id")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="API token id")]
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="Job id")]
ExportId = Annotated[int, Path(ge=1, le=MAX_ID, description="Export id")]
DatasetId = Annotated[int, Path(ge=1, le=MAX_ID, description="Dataset id")]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Item id (items have 64-bit ids)")]

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


# Dependencies that do no I/O are `async def`: FastAPI then runs them on the event loop instead of
# sending each through the thread pool (a hop per dependency per request, which showed in p99).


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def database_of(request: Request) -> Database:
    database: Database = request.app.state.runtime.database
    return database


async def get_database(request: Request) -> Database:
    return database_of(request)


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: reads use a read session, unsafe methods a write session. It commits
    before the response is sent (scope="function"), so a 2xx means the change is stored."""
    database = database_of(request)
    maker = database.read_sessions if request.method in SAFE_METHODS else database.write_sessions
    with maker() as session, session.begin():
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_actor(request: Request, session: SessionDep, background: BackgroundTasks) -> Actor:
    """The signed-in user: an API token (`Authorization: Bearer …`) or the browser session cookie, which
    must come with the CSRF token on unsafe methods."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <API token>'")
        token, user = find_api_token(session, secret.strip())
        if token_use_is_stale(token):
            if request.method in SAFE_METHODS:  # after the response, once this read connection is back
                background.add_task(_record_token_use, database_of(request), token.id)
            else:  # already the writer: a second writer would wait on this one (SQLite)
                record_api_token_use(session, token.id)
        return _active(Actor(user=user, session=session))
    settings: Settings = request.app.state.settings
    cookie = request.cookies.get(settings.session_cookie_name)
    if cookie:
        browser_session = find_browser_session(session, cookie)
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not secrets.compare_digest(sent, browser_session.csrf_token):
                raise Forbidden(f"missing or wrong CSRF token: send the {CSRF_HEADER} header")
        actor = Actor(user=get_user(session, browser_session.user_id), session=session)
        request.state.browser_session = browser_session
        return _active(actor)
    raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")


def _record_token_use(database: Database, token_id: int) -> None:
    with database.write() as session:
        record_api_token_use(session, token_id)


def _active(actor: Actor) -> Actor:
    if not actor.user.is_active:
        raise Unauthenticated("this account is deactivated")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


async def in_write_transaction(
    request: Request, background: BackgroundTasks, work: Callable[[Session, Actor], T]
) -> T:
    """`work(session, actor)` in one write transaction, signed in as `get_actor` does, committed before
    it returns: the whole request in one trip to the thread pool. The labeling tool's hot routes (next
    task, submit) use it instead of SessionDep and ActorDep, which FastAPI runs as three more trips (the
    session's enter and exit, the actor), each a thread hand-over and a GIL switch of the event loop:
    under eight labelers those trips cost more of the event loop's time than the rest of the request.
    At most `labeling_threads` such requests run at once (see `labeling_limiter`)."""

    def run() -> T:
        with database_of(request).write() as session:
            return work(session, get_actor(request, session, background))

    return await to_thread.run_sync(run, limiter=labeling_limiter(request))


def labeling_limiter(request: Request) -> anyio.CapacityLimiter:
    """The app's limit on the hot labeling requests in threads at once (made on first use: a limiter
    belongs to the running event loop). Thirty-two labelers in 32 threads spent more of the one
    interpreter lock on handing it around than four do; the rest wait on the event loop."""
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "labeling_limiter", None)
    if limiter is None:
        settings: Settings = state.settings
        limiter = state.labeling_limiter = anyio.CapacityLimiter(settings.labeling_threads)
    return limiter


@dataclass(frozen=True)
class PageParams:
    """Where the page starts: after (or, for newest-first lists, before) the id `position`; 0 = first page."""

    position: int
    limit: int


async def get_page_params(
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, description="Items per page")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> PageParams:
    position = 0
    if cursor:
        decoded = decode_cursor(cursor)
        if decoded is None:
            raise Invalid("is not a cursor this API returned", field="cursor")
        position = decoded
    return PageParams(
        position=position, limit=min(limit or settings.page_size_default, settings.page_size_max)
    )


PageDep = Annotated[PageParams, Depends(get_page_params)]
