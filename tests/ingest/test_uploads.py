"""Uploads through the API: an upload dataset in the default datastore, files streamed into its folder
(sub-folders kept), reaching a project at initialization and at its next refresh; the size limits (413
naming the limit, nothing left behind), refused names and types, and the parser handing a large file on in
bounded chunks, never whole."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tessera.api.app import create_app
from tessera.api.multipart import form_files
from tessera.core.errors import TooLarge
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.ingest.models import Datastore, Media
from tessera.ingest.uploads import (
    LimitedReader,
    UploadPart,
    create_upload_dataset,
    get_default_datastore,
    open_upload_target,
    store_files,
)
from tessera.items.models import Item
from tessera.worker.runtime import Runtime
from tests.support.data_api import ok
from tests.support.polling import wait_for

Headers = dict[str, str]
Files = list[tuple[str, tuple[str, bytes, str]]]


def _files(*named: tuple[str, bytes]) -> Files:
    return [("files", (name, data, "application/octet-stream")) for name, data in named]


def _upload_dataset(client: TestClient, admin: Headers, name: str = "Birds", media: str = "image") -> int:
    body = {"name": name, "media": media}
    return int(ok(client.post("/api/datasets/uploads", json=body, headers=admin), 201)["id"])


def _folder(settings: Settings, client: TestClient, admin: Headers, dataset_id: int) -> Path:
    datasets = ok(client.get("/api/datasets", headers=admin))["items"]
    (pattern,) = next(dataset["patterns"] for dataset in datasets if dataset["id"] == dataset_id)
    return settings.upload_folder() / pattern.removesuffix("/**")


def _files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def _job_done(client: TestClient, admin: Headers, job_id: int) -> None:
    job = wait_for(
        lambda: ok(client.get(f"/api/jobs/{job_id}", headers=admin)),
        lambda job: job["status"] in ("succeeded", "failed"),
        what=f"job {job_id}",
    )
    assert job["status"] == "succeeded", job["error"]


def _item_paths(db: Database, project_id: int) -> list[str]:
    with db.read() as session:
        return sorted(session.scalars(select(Item.path).where(Item.project_id == project_id)))


def test_uploaded_files_land_in_the_folder_and_reach_the_project(
    client: TestClient, admin: Headers, settings: Settings, db: Database
) -> None:
    dataset_id = _upload_dataset(client, admin)
    stored = ok(
        client.post(
            f"/api/datasets/{dataset_id}/files",
            files=_files(("a.jpg", b"A" * 10), ("b.PNG", b"B" * 20), ("nest/deeper/c.webp", b"C")),
            headers=admin,
        ),
        201,
    )
    folder = _folder(settings, client, admin, dataset_id)
    assert _files_under(folder) == ["a.jpg", "b.PNG", "nest/deeper/c.webp"]
    assert (folder / "b.PNG").read_bytes() == b"B" * 20
    assert [(file["path"], file["size"]) for file in stored["files"]] == [
        (f"{folder.name}/a.jpg", 10),
        (f"{folder.name}/b.PNG", 20),
        (f"{folder.name}/nest/deeper/c.webp", 1),
    ]
    assert (stored["skipped"], stored["project_ids"]) == ([], [])

    body = {"name": "Birds", "task_type": "image_classification_multiclass", "label_classes": ["a", "b"]}
    project_id = ok(client.post("/api/projects", json=body, headers=admin), 201)["id"]
    started = ok(
        client.post(f"/api/projects/{project_id}/data", json={"dataset_id": dataset_id}, headers=admin), 202
    )
    _job_done(client, admin, started["job"]["id"])
    assert _item_paths(db, project_id) == [file["path"] for file in stored["files"]]

    more = ok(
        client.post(f"/api/datasets/{dataset_id}/files", files=_files(("d.jpeg", b"D")), headers=admin), 201
    )
    assert more["project_ids"] == [project_id]  # the upload says who gets it at the next refresh
    assert len(_item_paths(db, project_id)) == 3
    refresh = ok(client.post(f"/api/projects/{project_id}/data/refresh", headers=admin), 202)
    _job_done(client, admin, refresh["id"])
    assert _item_paths(db, project_id) == sorted(
        [file["path"] for file in stored["files"]] + [f"{folder.name}/d.jpeg"]
    )


def _small_client(runtime: Runtime, settings: Settings, **limits: int) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=limits), runtime=runtime))


def test_a_file_over_the_limit_is_a_413_naming_it_and_nothing_of_the_upload_stays(
    client: TestClient, admin: Headers, settings: Settings, runtime: Runtime
) -> None:
    dataset_id = _upload_dataset(client, admin)
    with _small_client(runtime, settings, max_upload_bytes=1000) as small:
        refused = small.post(
            f"/api/datasets/{dataset_id}/files",
            files=_files(("fine.jpg", b"x" * 1000), ("big.jpg", b"x" * 3000), ("later.jpg", b"x")),
            headers=admin,
        )
        assert refused.status_code == 413, refused.text
        error = refused.json()
        assert error["code"] == "too_large"
        assert "'big.jpg'" in error["message"]
        assert "1,000 bytes" in error["message"]
        assert error["details"] == {"limit_bytes": 1000, "file": "big.jpg"}
        folder = _folder(settings, client, admin, dataset_id)
        assert _files_under(folder) == []  # not big.jpg, not its temporary file, not fine.jpg either
        ok(small.post(f"/api/datasets/{dataset_id}/files", files=_files(("x.jpg", b"x")), headers=admin), 201)
        assert _files_under(folder) == ["x.jpg"]


def test_a_request_declaring_more_than_the_request_limit_is_refused_before_it_is_read(
    client: TestClient, admin: Headers, settings: Settings, runtime: Runtime
) -> None:
    dataset_id = _upload_dataset(client, admin)
    body, content_type = _encoded(("a.jpg", b"x" * 10))
    limit = settings.model_copy(update={"max_upload_bytes": 10, "max_upload_request_bytes": 10})
    with _small_client(runtime, settings, max_upload_bytes=10, max_upload_request_bytes=10) as small:
        declared = {**admin, "Content-Type": content_type, "Content-Length": str(10 * 1024**3)}
        refused = small.post(f"/api/datasets/{dataset_id}/files", content=body, headers=declared)
        assert refused.status_code == 413, refused.text
        assert refused.json()["details"] == {"limit_bytes": limit.upload_request_limit()}
        assert "per request" in refused.json()["message"]
        assert f"{limit.upload_request_limit():,} bytes" in refused.json()["message"]
        assert _files_under(_folder(settings, client, admin, dataset_id)) == []


def test_refused_names_types_and_datasets(
    client: TestClient, admin: Headers, settings: Settings, tmp_path: Path
) -> None:
    dataset_id = _upload_dataset(client, admin)
    url = f"/api/datasets/{dataset_id}/files"
    wrong_type = client.post(url, files=_files(("ok.jpg", b"x"), ("notes.txt", b"x")), headers=admin)
    assert wrong_type.status_code == 422
    assert "'notes.txt'" in wrong_type.json()["message"]
    assert wrong_type.json()["details"]["errors"][0]["field"] == "files.1"
    for unsafe in ("../escape.jpg", "/etc/a.jpg", "a//b.jpg", "%2e%2e/x.jpg", "sub/.tessera-upload-x.jpg"):
        refused = client.post(url, files=_files((unsafe, b"x")), headers=admin)
        assert refused.status_code == 422, (unsafe, refused.text)
    assert _files_under(_folder(settings, client, admin, dataset_id)) == []
    assert not (settings.upload_folder() / "escape.jpg").exists()

    ok(client.post(url, files=_files(("same.jpg", b"1")), headers=admin), 201)
    again = client.post(url, files=_files(("new.jpg", b"2"), ("same.jpg", b"2")), headers=admin)
    assert again.status_code == 409
    assert "'same.jpg' is already in the dataset" in again.json()["message"]
    skipped = ok(
        client.post(
            f"{url}?skip_existing=true", files=_files(("new.jpg", b"2"), ("same.jpg", b"2")), headers=admin
        ),
        201,
    )
    folder = _folder(settings, client, admin, dataset_id)
    assert skipped["skipped"] == [f"{folder.name}/same.jpg"]
    assert (folder / "same.jpg").read_bytes() == b"1"
    field = client.post(url, data={"note": "hi"}, files=_files(("z.jpg", b"z")), headers=admin)
    assert field.status_code == 422
    assert "the form field 'note' is not a file" in field.json()["message"]
    empty_input = (  # what a browser sends for a file input left empty
        b'--b0\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--b0--\r\n"
    )
    headers = {**admin, "Content-Type": "multipart/form-data; boundary=b0"}
    nothing = client.post(url, content=empty_input, headers=headers)
    assert (nothing.status_code, nothing.json()["message"]) == (422, "files: no file was sent")

    not_multipart = client.post(url, json={"files": []}, headers=admin)
    assert (not_multipart.status_code, not_multipart.json()["code"]) == (422, "invalid")
    assert (
        client.post("/api/datasets/999999/files", files=_files(("a.jpg", b"x")), headers=admin).status_code
        == 404
    )

    photos = tmp_path / "data" / "datastores" / "photos"
    photos.mkdir(parents=True)
    store = ok(
        client.post(
            "/api/datastores",
            json={"name": "photos", "kind": "local", "config": {"root": str(photos)}},
            headers=admin,
        ),
        201,
    )
    plain = ok(
        client.post(
            "/api/datasets",
            json={"name": "plain", "datastore_id": store["id"], "patterns": ["**"], "media": "image"},
            headers=admin,
        ),
        201,
    )
    refused = client.post(f"/api/datasets/{plain['id']}/files", files=_files(("a.jpg", b"x")), headers=admin)
    assert refused.status_code == 409
    assert "is not an upload dataset" in refused.json()["message"]
    assert list(photos.iterdir()) == []


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        (
            "multipart/form-data; boundary=b0",
            b'--b0\r\nContent-Disposition: form-data; name="f"; filename="cut.jpg"\r\n\r\nhalf a fi',
            "ended before the closing boundary",
        ),
        ("multipart/form-data; boundary=b0", b"not multipart at all", "multipart/form-data"),
        (
            "multipart/form-data; boundary=b0",
            b'--b0\r\nContent-Disposition: form-data; name="f"; filename=""\r\n\r\ndata\r\n--b0--\r\n',
            "the file of form field 'f' has no name",
        ),
        ("multipart/form-data", b"--b0--\r\n", "content-type: must be multipart/form-data with a boundary"),
        ("image/jpeg", b"\xff\xd8", "content-type: must be multipart/form-data"),
    ],
)
def test_malformed_bodies_are_a_422_and_leave_nothing(
    client: TestClient, admin: Headers, settings: Settings, content_type: str, body: bytes, says: str
) -> None:
    dataset_id = _upload_dataset(client, admin)
    headers = {**admin, "Content-Type": content_type}
    refused = client.post(f"/api/datasets/{dataset_id}/files", content=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert says in refused.json()["message"]
    assert _files_under(settings.upload_folder()) == []


def test_a_text_dataset_takes_text_files_and_a_latin_1_name(
    client: TestClient, admin: Headers, settings: Settings
) -> None:
    dataset_id = _upload_dataset(client, admin, name="Notes", media="text")
    body = (
        b'--b0\r\nContent-Disposition: form-data; name="f"; filename="caf\xe9.txt"\r\n\r\nhello\r\n'
        b'--b0\r\nContent-Disposition: form-data; name="f"; filename="rows.csv"\r\n\r\ntext\nhi\r\n--b0--\r\n'
    )
    headers = {**admin, "Content-Type": "multipart/form-data; boundary=b0"}
    stored = ok(client.post(f"/api/datasets/{dataset_id}/files", content=body, headers=headers), 201)
    folder = _folder(settings, client, admin, dataset_id)
    assert [file["path"] for file in stored["files"]] == [
        f"{folder.name}/café.txt",
        f"{folder.name}/rows.csv",
    ]
    assert (folder / "café.txt").read_bytes() == b"hello"


def _encoded(*named: tuple[str, bytes]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x/", files=_files(*named))
    return request.read(), request.headers["content-type"]


def _lazy_body(boundary: str, name: str, size: int, piece: int) -> Iterator[bytes]:
    """A multipart body of one file of `size` bytes, made as it is read (never whole in memory)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    for start in range(0, size, piece):
        yield bytes([start // piece % 251]) * min(piece, size - start)
    yield f"\r\n--{boundary}--\r\n".encode()


def test_the_parser_hands_a_large_file_on_in_bounded_chunks() -> None:
    data = bytes(range(256)) * (3 * 1024 * 1024 // 256)  # 3 MiB
    body, content_type = _encoded(("big.jpg", data), ("small.png", b"tiny"))
    for pieces in ([body], [body[start : start + 65_536] for start in range(0, len(body), 65_536)]):
        seen = []
        for file in form_files(iter(pieces), content_type, chunk_size=256 * 1024):
            chunks = list(file.chunks)
            assert max(len(chunk) for chunk in chunks) <= 256 * 1024
            seen.append((file.filename, b"".join(chunks)))
        assert seen == [("big.jpg", data), ("small.png", b"tiny")]


def test_a_large_upload_streams_through_without_being_held_in_memory(
    db: Database, settings: Settings
) -> None:
    with db.write() as session:
        dataset = create_upload_dataset(
            session, settings=settings, name="Stream", media=Media.image, text_column=None, created_by_id=None
        )
        target = open_upload_target(session, settings=settings, dataset=dataset)
    size = 4 * 1024 * 1024
    body = _lazy_body("b0undary", "big.jpg", size, 64 * 1024)
    files = form_files(body, "multipart/form-data; boundary=b0undary", chunk_size=64 * 1024)
    tracemalloc.start()
    try:
        result = store_files(
            target, (UploadPart(file.filename, file.chunks) for file in files), max_file_bytes=size
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [file.size for file in result.stored] == [size]
    assert peak < 1024 * 1024, f"peak {peak:,} bytes: the file was gathered in memory"
    assert (settings.upload_folder() / result.stored[0].path).stat().st_size == size


def test_the_reader_stops_at_the_limit_of_one_file() -> None:
    reader = LimitedReader(iter([b"x" * 600, b"x" * 600]), limit=1000, name="a.jpg")
    assert len(reader.read(8 * 1024 * 1024)) == 600
    with pytest.raises(TooLarge) as refused:
        reader.read(8 * 1024 * 1024)
    assert refused.value.limit_bytes == 1000


def test_two_first_uses_at_once_make_one_default_datastore(db: Database, settings: Settings) -> None:
    found: list[int] = []

    def second() -> None:
        with db.write() as session:
            found.append(get_default_datastore(session, settings).id)

    with db.write() as session:
        first = get_default_datastore(session, settings).id  # inserted, not yet committed
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.3)  # the racer now waits: on SQLite's write lock, on PostgreSQL's unique index
    racer.join(timeout=10)
    assert found == [first]
    with db.read() as session:
        assert len(session.scalars(select(Datastore)).all()) == 1
