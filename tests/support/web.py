"""What browser tests share: signing in through the page, a project loaded from real image files with one
labeler, and where screenshots go, to be looked at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from tessera.accounts.memberships import set_member
from tessera.accounts.models import ProjectRole, WorkspaceRole
from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.data_api import attach, make_dataset, ok
from tests.support.factories import PASSWORD, bearer, make_token, make_user

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
Color = tuple[int, int, int]


def save_screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"), full_page=True)


def sign_in(page: Any, base: str, username: str) -> None:
    """Through the sign-in page, as a person would: the projects page sends an unknown visitor there."""
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


@dataclass(frozen=True)
class ImageProject:
    project_id: int
    admin: dict[str, str]  # a workspace admin's API headers


def project_from_images(
    client: TestClient,
    db: Database,
    settings: Settings,
    *,
    images: dict[str, tuple[tuple[int, int], Color]],
    body: dict[str, Any],
    labeler: str,
) -> ImageProject:
    """A project created through the API (`body`) and loaded from a folder of plain-color images (name →
    ((width, height), color)), with the user `labeler` as its labeler."""
    root = settings.data_dir / "datastores" / "images"
    root.mkdir(parents=True)
    for name, (size, color) in images.items():
        Image.new("RGB", size, color).save(root / name)
    with db.write() as session:
        admin = bearer(make_token(session, make_user(session, "root", role=WorkspaceRole.admin)))
        member = make_user(session, labeler)
    project_id = int(ok(client.post("/api/projects", json=body, headers=admin), 201)["id"])
    attach(client, admin, project_id, make_dataset(client, admin, root))
    with db.write() as session:
        set_member(session, project_id=project_id, user=member, role=ProjectRole.labeler)
    return ImageProject(project_id, admin)
