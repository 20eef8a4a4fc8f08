"""The pages. They render a shell; their ES modules fetch the data from the same API as the SDK."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

import tessera

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")

router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    return StaticFiles(directory=WEB_DIR / "static")


@router.get("/", response_class=HTMLResponse)
def projects_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "projects.html", {"version": tessera.__version__})


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "sign_in.html", {"version": tessera.__version__})


@router.get("/projects/new", response_class=HTMLResponse)
def new_project_page(request: Request) -> HTMLResponse:
    """The create-project wizard, for workspace creators and admins."""
    return templates.TemplateResponse(request, "new_project.html", {"version": tessera.__version__})


@router.get("/projects/{project_id}/label", response_class=HTMLResponse)
def labeling_page(request: Request, project_id: int) -> HTMLResponse:
    """The labeling tool: the project's instructions first, then its tasks."""
    return templates.TemplateResponse(
        request, "label.html", {"version": tessera.__version__, "project_id": project_id}
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, project_id: int) -> HTMLResponse:
    """A project's dashboard, for its managers and reviewers, with the Python that reads its labels."""
    sample = python_sample(str(request.base_url), project_id)
    return templates.TemplateResponse(
        request, "project.html", {"version": tessera.__version__, "project_id": project_id, "sample": sample}
    )


def python_sample(base_url: str, project_id: int) -> str:
    """The code the dashboard shows under "Access your labels from Python" (a test runs it as shown)."""
    return PYTHON_SAMPLE.format(url=base_url.rstrip("/"), project_id=project_id)


PYTHON_SAMPLE = """\
# tessera.client needs only httpx and pandas (installed with Tessera).
# An API token: `tessera user token NAME`, or POST /api/tokens; here from the environment.
import os

from tessera.client import Tessera

with Tessera("{url}", token=os.environ["TESSERA_TOKEN"]) as tessera:
    labels = tessera.labels({project_id})  # a pandas DataFrame, one row per labeled item
    print(labels[["path", "label"]].head())
    path = tessera.export({project_id}, "csv", ".")  # or coco, mltable, parquet, ...: docs/formats.md
    print("saved", path)
"""


@router.get("/projects/{project_id}/review", response_class=HTMLResponse)
def review_page(request: Request, project_id: int) -> HTMLResponse:
    """Reviewing a project's items: filters, reject, skipped items, the label that counts."""
    return templates.TemplateResponse(
        request, "review.html", {"version": tessera.__version__, "project_id": project_id}
    )


@router.get("/projects/{project_id}/details", response_class=HTMLResponse)
def project_details_page(request: Request, project_id: int) -> HTMLResponse:
    """A project's details and settings: data and refresh, label classes, instructions, members."""
    return templates.TemplateResponse(
        request, "details.html", {"version": tessera.__version__, "project_id": project_id}
    )
