"""ML assist: its state and settings per project, its model versions, training on demand, similar items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tessera.accounts.policies import authorize
from tessera.accounts.policies.ml import MlPolicy
from tessera.api.deps import ActorDep, ItemId, ProjectId, SessionDep, SettingsDep
from tessera.api.schemas.common import ERROR_RESPONSES
from tessera.api.schemas.ml import JobStartedOut, MlSettingsIn, MlStatusOut, ModelOut, SimilarItemOut
from tessera.ingest.media import get_item
from tessera.ml.inference import order_by_pages
from tessera.ml.service import (
    list_models,
    ml_status,
    model_summary,
    update_ml_settings,
)
from tessera.ml.similar import similar_items
from tessera.ml.triggers import request_training, start_featurization
from tessera.projects.service import get_project

router = APIRouter(prefix="/api", tags=["ml"], responses=ERROR_RESPONSES)


@router.get("/projects/{project_id}/ml", response_model=MlStatusOut)
def read_ml(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> MlStatusOut:
    """ML assist's state: settings, the latest model and its threshold (or why no prelabels), the next
    training, the realized precision of accepted prelabels, the running ML job."""
    project = get_project(session, project_id)
    authorize(actor, MlPolicy.view(project.id))
    return MlStatusOut.model_validate(ml_status(session, project))


@router.patch("/projects/{project_id}/ml/settings", response_model=MlStatusOut)
def change_ml_settings(
    project_id: ProjectId, body: MlSettingsIn, actor: ActorDep, session: SessionDep
) -> MlStatusOut:
    """Change ML assist's settings; turning active learning off puts the queue back in its order without a
    model: clustered pages in their order, then the random order."""
    project = get_project(session, project_id)
    authorize(actor, MlPolicy.manage(project.id))
    row = update_ml_settings(session, project, body.model_dump(exclude_none=True))
    if not row.active_learning:
        order_by_pages(session, project.id)
    return MlStatusOut.model_validate(ml_status(session, project))


@router.post("/projects/{project_id}/ml/train", response_model=JobStartedOut, status_code=202)
def train_now(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> JobStartedOut:
    """Start a training round now (409 while an ML job is queued or running)."""
    project = get_project(session, project_id)
    authorize(actor, MlPolicy.manage(project.id))
    job = request_training(session, project, actor.user.id)
    return JobStartedOut(job_id=job.id, kind=job.kind)


@router.post("/projects/{project_id}/ml/featurize", response_model=JobStartedOut, status_code=202)
def featurize_now(project_id: ProjectId, actor: ActorDep, session: SessionDep) -> JobStartedOut:
    """Embed the items that have no embedding yet, and regroup the clustered pages."""
    project = get_project(session, project_id)
    authorize(actor, MlPolicy.manage(project.id))
    job = start_featurization(session, project, actor.user.id)
    return JobStartedOut(job_id=job.id, kind=job.kind)


@router.get("/projects/{project_id}/ml/models", response_model=list[ModelOut])
def read_models(
    project_id: ProjectId,
    actor: ActorDep,
    session: SessionDep,
    curve: Annotated[bool, Query(description="Include each model's precision curve.")] = False,
) -> list[ModelOut]:
    """The project's model versions, newest first, with their held-out metrics."""
    project = get_project(session, project_id)
    authorize(actor, MlPolicy.view(project.id))
    return [
        ModelOut.model_validate(model_summary(model) | {"curve": model.curve if curve else None})
        for model in list_models(session, project.id)
    ]


@router.get("/items/{item_id}/similar", response_model=list[SimilarItemOut])
def read_similar(
    item_id: ItemId,
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, le=100, description="How many similar items.")] = 9,
) -> list[SimilarItemOut]:
    """The items most like this one in the project's embedding space (409 before it is embedded)."""
    item = get_item(session, item_id)
    project = get_project(session, item.project_id)
    authorize(actor, MlPolicy.view(project.id))
    return [SimilarItemOut.model_validate(row) for row in similar_items(session, settings, project, item, k)]
