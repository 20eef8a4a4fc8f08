"""Items' content and thumbnails: streamed with type, ETag and byte ranges; thumbnails made once and
cached; a vanished file marks its item missing, an undecodable image marks it broken."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.items.models import Item, ItemHealth
from tests.support.data_api import attach, make_dataset, make_project_via_api
from tests.support.factories import bearer, make_token, make_user

Headers = dict[str, str]


def jpeg_bytes(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 8):
        image.paste((x % 256, (x * 3) % 256, 90), (x, 0, x + 8, height))
    output = io.BytesIO()
    image.save(output, "JPEG", quality=90)
    return output.getvalue()


@pytest.fixture
def items(client: TestClient, admin: Headers, settings: Settings, db: Database) -> dict[str, Any]:
    root = settings.data_dir / "datastores" / "media"
    root.mkdir(parents=True)
    (root / "big.jpg").write_bytes(jpeg_bytes(1600, 1200))
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(image, "PNG")
    (root / "small.png").write_bytes(image.getvalue())
    (root / "broken.jpg").write_bytes(b"this is not a JPEG at all")
    project_id = make_project_via_api(client, admin)
    attach(client, admin, project_id, make_dataset(client, admin, root))
    with db.read() as session:
        rows = session.scalars(select(Item).where(Item.project_id == project_id)).all()
        return {"root": root, "project_id": project_id, **{item.path: item.id for item in rows}}


def _health(db: Database, item_id: int) -> tuple[ItemHealth, str | None]:
    with db.read() as session:
        item = session.get(Item, item_id)
        assert item is not None
        return item.health, item.health_reason


def test_content_streams_with_type_etag_and_ranges(
    client: TestClient, admin: Headers, items: dict[str, Any]
) -> None:
    url = f"/api/items/{items['big.jpg']}/content"
    whole = client.get(url, headers=admin)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "image/jpeg"
    assert whole.content == (items["root"] / "big.jpg").read_bytes()
    etag = whole.headers["etag"]
    assert client.get(url, headers={**admin, "If-None-Match": etag}).status_code == 304
    part = client.get(url, headers={**admin, "Range": "bytes=10-109"})
    assert part.status_code == 206
    assert part.content == whole.content[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(whole.content)}"
    tail = client.get(url, headers={**admin, "Range": "bytes=-16"})
    assert tail.content == whole.content[-16:]
    beyond = client.get(url, headers={**admin, "Range": f"bytes={len(whole.content) + 5}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(whole.content)}"


def test_thumbnails_are_small_cached_and_keep_the_aspect(
    client: TestClient, admin: Headers, items: dict[str, Any], settings: Settings
) -> None:
    url = f"/api/items/{items['big.jpg']}/thumbnail?size=256"
    first = client.get(url, headers=admin)
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(first.content)).size == (256, 192)
    cached = list((settings.data_dir / "thumbnails").rglob("*.jpg"))
    assert len(cached) == 1
    assert client.get(url, headers=admin).content == first.content
    assert client.get(url, headers={**admin, "If-None-Match": first.headers["etag"]}).status_code == 304
    small = client.get(f"/api/items/{items['small.png']}/thumbnail?size=128", headers=admin)
    assert Image.open(io.BytesIO(small.content)).size == (40, 30)  # never enlarged
    assert client.get(f"/api/items/{items['small.png']}/thumbnail?size=300", headers=admin).status_code == 422


def test_an_undecodable_image_marks_its_item_broken(
    client: TestClient, admin: Headers, items: dict[str, Any], db: Database
) -> None:
    response = client.get(f"/api/items/{items['broken.jpg']}/thumbnail", headers=admin)
    assert response.status_code == 422
    assert "cannot be decoded" in response.json()["message"]
    health, reason = _health(db, items["broken.jpg"])
    assert health == ItemHealth.broken
    assert "cannot be decoded" in (reason or "")


def test_a_vanished_file_marks_its_item_missing(
    client: TestClient, admin: Headers, items: dict[str, Any], db: Database
) -> None:
    (Path(items["root"]) / "small.png").unlink()
    response = client.get(f"/api/items/{items['small.png']}/content", headers=admin)
    assert response.status_code == 404
    assert _health(db, items["small.png"])[0] == ItemHealth.missing


def test_items_are_for_members_only(client: TestClient, items: dict[str, Any], db: Database) -> None:
    with db.write() as session:
        outsider = bearer(make_token(session, make_user(session, "outsider")))
    assert client.get(f"/api/items/{items['big.jpg']}/content", headers=outsider).status_code == 403
    assert client.get("/api/items/99999999999/content", headers=outsider).status_code == 404
