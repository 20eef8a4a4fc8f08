"""What the data-in tests share: a folder of a few files inside the allowed datastore roots, and an
admin's API headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera.accounts.models import WorkspaceRole
from tessera.core.settings import Settings
from tessera.db.session import Database
from tests.support.factories import bearer, make_token, make_user

Headers = dict[str, str]


@pytest.fixture
def root(settings: Settings) -> Path:
    folder = settings.data_dir / "datastores" / "photos"
    for name in ("a.jpg", "b.PNG", "sub/c.jpeg", "sub/deeper/d.webp", "notes.txt", "sub/readme.md"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"not really an image")
    return folder


@pytest.fixture
def admin(db: Database) -> Headers:
    with db.write() as session:
        return bearer(make_token(session, make_user(session, "boss", role=WorkspaceRole.admin)))
