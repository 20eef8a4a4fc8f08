"""The app factory: `create_app(settings)` builds the API (and the web pages) over one Runtime."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import tessera
from tessera.api.errors import install_error_handlers
from tessera.api.routers import (
    auth,
    data,
    exports,
    health,
    imports,
    jobs,
    labeling,
    media,
    members,
    ml,
    projects,
    review,
    tokens,
    uploads,
    users,
    versions,
)
from tessera.core.settings import Settings
from tessera.web.pages import router as pages_router
from tessera.web.pages import static_files
from tessera.worker.runtime import Runtime

FULL_COLLECTION_EVERY = 100  # middle-generation collections per full one (Python's default: 10)

ROUTERS = (  # in the order a request's path is matched: the labeling tool's hot routes first
    health.router,
    labeling.router,
    auth.router,
    users.router,
    tokens.router,
    projects.router,
    members.router,
    jobs.router,
    data.router,
    uploads.router,
    versions.router,
    review.router,
    media.router,
    exports.router,
    imports.router,
    ml.router,
)


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """An app over `runtime`, or over one it starts itself (and stops on shutdown)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime or Runtime.start(settings)
        app.state.labeling_limiter = None  # made by the first request, in this event loop (api/deps.py)
        # Everything alive now (modules, mappers, schemas) lives as long as the process: move it out of the
        # collector's sight, so full collections stay short (this took list p99 from ~44 ms to ~4 ms).
        gc.collect()
        gc.freeze()
        # What lives on unfrozen (lazily built caches: compiled SQL, schemas) made each full collection
        # 50–100 ms, every tenth middle-generation one: 5% of the server's time under one labeler, and a
        # stall for every request in flight. Requests' objects die young, in the two younger generations,
        # which keep their thresholds: a full collection comes ten times less often.
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
        try:
            yield
        finally:
            if owned:
                app.state.runtime.stop()
                app.state.runtime.database.dispose()

    app = FastAPI(
        title="Tessera",
        version=tessera.__version__,
        description="Open-source data labeling. Authenticate with `Authorization: Bearer <API token>`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(pages_router)
    app.mount("/static", static_files(), name="static")
    return app
