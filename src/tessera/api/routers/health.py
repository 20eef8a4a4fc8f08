"""Liveness and readiness, for load balancers and `tessera serve`'s own check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

import tessera
from tessera.api.deps import SessionDep

router = APIRouter(prefix="/api", tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str
    job_runner: str


@router.get("/health", response_model=Health)
def read_health(request: Request, session: SessionDep) -> Health:
    """Public: answers 200 when the process can reach its database."""
    session.execute(text("SELECT 1"))
    runtime = request.app.state.runtime
    return Health(
        status="ok",
        version=tessera.__version__,
        database=runtime.database.engine.dialect.name,
        job_runner=runtime.runner.name,
    )
