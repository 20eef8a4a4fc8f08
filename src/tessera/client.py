"""Tessera from Python, over its HTTP API (httpx): sign in with an API token, create projects, attach data,
fetch the labels as a pandas DataFrame, start an export and download it. It imports nothing else of
Tessera, so it runs anywhere the server can be reached:

    from tessera.client import Tessera

    tessera = Tessera("http://127.0.0.1:8000", token=os.environ["TESSERA_TOKEN"])
    labels = tessera.labels(project_id)            # a DataFrame, one row per labeled item
    path = tessera.export(project_id, "coco", "labels.json")

Every failure the server reports raises `TesseraError` with its message (and the field, when it names one).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

POLL_SECONDS = 0.5


class TesseraError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {message or body}")
        self.status = status
        self.body = body


class Tessera:
    """A connection to one Tessera server as the owner of `token` (an API token: `tessera user token`, or
    the API's POST /api/tokens)."""

    def __init__(self, url: str, *, token: str, timeout: float = 60.0) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Tessera:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code != status:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise TesseraError(response.status_code, body)
        return response.json() if response.content else None

    def _pages(self, path: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self._call("GET", path, params={"limit": 200, **({"cursor": cursor} if cursor else {})})
            found += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return found

    # projects and data
    def projects(self) -> list[dict[str, Any]]:
        return self._pages("/api/projects")

    def create_project(
        self,
        name: str,
        task_type: str,
        label_classes: Sequence[str],
        *,
        instructions_markdown: str | None = None,
        instructions_url: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "name": name, "task_type": task_type, "label_classes": list(label_classes),
            "instructions_markdown": instructions_markdown, "instructions_url": instructions_url,
        }  # fmt: skip
        project: dict[str, Any] = self._call("POST", "/api/projects", status=201, json=body)
        return project

    def attach_folder(
        self,
        project_id: int,
        folder: str | os.PathLike[str],
        *,
        patterns: Sequence[str] = ("**",),
        wait: bool = True,
    ) -> dict[str, Any]:
        """Give the project the files of a folder on the server (a local datastore the server allows) and
        load them; with `wait`, return once they are loaded."""
        media = "text" if self.project(project_id)["media"] == "text" else "image"
        name = f"project {project_id} {Path(folder).name}"
        store = self._call(
            "POST",
            "/api/datastores",
            status=201,
            json={"name": name, "kind": "local", "config": {"root": str(folder)}},
        )
        dataset = self._call(
            "POST", "/api/datasets", status=201,
            json={"name": name, "datastore_id": store["id"], "patterns": list(patterns), "media": media},
        )  # fmt: skip
        started = self._call(
            "POST", f"/api/projects/{project_id}/data", status=202, json={"dataset_id": dataset["id"]}
        )
        if wait:
            self.wait_for_job(started["job"]["id"])
        data: dict[str, Any] = self._call("GET", f"/api/projects/{project_id}/data")
        return data

    def project(self, project_id: int) -> dict[str, Any]:
        project: dict[str, Any] = self._call("GET", f"/api/projects/{project_id}")
        return project

    def wait_for_job(self, job_id: int, *, timeout: float = 3600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self._call("GET", f"/api/jobs/{job_id}")
            if job["status"] in ("succeeded", "failed", "cancelled"):
                if job["status"] != "succeeded":
                    raise TesseraError(500, {"message": f"job {job_id} {job['status']}: {job.get('error')}"})
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} did not finish in {timeout} s")
            time.sleep(POLL_SECONDS)

    # exports
    def start_export(self, project_id: int, fmt: str, **options: Any) -> dict[str, Any]:
        """Start an export (options: items, consensus_only, include_prelabels, validation_share, seed)."""
        body = {"format": fmt, "options": options}
        export: dict[str, Any] = self._call(
            "POST", f"/api/projects/{project_id}/exports", status=202, json=body
        )
        return export

    def wait_for_export(self, export_id: int, *, timeout: float = 3600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            export: dict[str, Any] = self._call("GET", f"/api/exports/{export_id}")
            if export["state"] == "ready":
                return export
            if export["state"] == "failed":
                raise TesseraError(500, {"message": f"export {export_id} failed: {export['message']}"})
            if time.monotonic() > deadline:
                raise TimeoutError(f"export {export_id} was not ready in {timeout} s")
            time.sleep(POLL_SECONDS)

    def download(self, export_id: int, target: str | os.PathLike[str]) -> Path:
        """The export's file, streamed to `target` (a folder: the file keeps its name) under a temporary
        name, then renamed."""
        export = self.wait_for_export(export_id)
        path = Path(target)
        if path.is_dir():
            path = path / export["file_name"]
        temporary = path.with_name(f".{path.name}.part")
        with self.http.stream("GET", f"/api/exports/{export_id}/download") as response:
            if response.status_code != 200:
                response.read()
                raise TesseraError(response.status_code, response.json())
            with temporary.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
        temporary.replace(path)
        return path

    def export(self, project_id: int, fmt: str, target: str | os.PathLike[str], **options: Any) -> Path:
        """Export and download in one call; the path of the file."""
        return self.download(self.start_export(project_id, fmt, **options)["id"], target)

    def labels(self, project_id: int, **options: Any) -> pd.DataFrame:
        """The project's labels as a DataFrame, one row per item (by default the items with a label that
        counts): item_id, path, url, text (text projects) or width and height (images), label (as the API
        shows it: classes, boxes, polygons, mask or spans), label_source, agreement, and split / prelabel
        with those options. Read from a JSON Lines export, so it is the same snapshot an export file would
        hold."""
        import pandas as pd

        export = self.wait_for_export(self.start_export(project_id, "jsonl", **options)["id"])
        rows = []
        with self.http.stream("GET", f"/api/exports/{export['id']}/download") as response:
            if response.status_code != 200:
                response.read()
                raise TesseraError(response.status_code, response.json())
            for line in response.iter_lines():
                if line.strip():
                    rows.append(json.loads(line))
        return pd.DataFrame(rows)
