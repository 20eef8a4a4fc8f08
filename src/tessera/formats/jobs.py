"""The export job: read the project's labels as one snapshot, stream them through the format's writer into
a temporary folder, then deliver the result under `<data_dir>/exports/<project>/` — one file as it is,
several as a zip — written to a temporary name and renamed, so a download never sees half a file. A
failure leaves no file and says why on the export."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import update

from tessera.core import clock
from tessera.formats.models import Export, ExportState
from tessera.formats.records import ExportOptions, open_source, start_snapshot
from tessera.formats.registry import get_export_format
from tessera.formats.service import EXPORT_JOB, exports_folder
from tessera.jobs.context import JobContext
from tessera.jobs.registry import job_function
from tessera.projects.models import Project, TaskType


@job_function(EXPORT_JOB)
def run_export(context: JobContext) -> dict[str, Any]:
    export_id = int(context.params["export_id"])
    try:
        return _export(context, export_id)
    except Exception as error:
        _finish(context, export_id, state=ExportState.failed, message=f"the export failed: {error}"[:500])
        raise


def _export(context: JobContext, export_id: int) -> dict[str, Any]:
    folder = exports_folder(context.settings, context.project_id or 0)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".export-{export_id}-", dir=folder) as scratch:
        work = Path(scratch) / "files"
        work.mkdir()
        with context.database.read() as session:
            start_snapshot(session)
            export = session.get_one(Export, export_id)
            project = session.get_one(Project, export.project_id)
            fmt = get_export_format(export.format, TaskType(project.task_type))
            source = open_source(session, project, ExportOptions(**export.options), context.settings)
            total = source.count()
            name = _file_stem(project.name, export_id, fmt.name)
            context.progress(0, total, f"writing {total:,} items as {fmt.name}")
            written = fmt.writer()(source, work, lambda done: context.progress(done, total))
            snapshot_at = source.snapshot_at
        delivered = _deliver(work, Path(scratch), name)
        final = folder / delivered.name
        delivered.replace(final)
    size = final.stat().st_size
    _finish(
        context, export_id, state=ExportState.ready, message=f"{written:,} items", file_name=final.name,
        size_bytes=size, items=written, snapshot_at=snapshot_at,
    )  # fmt: skip
    context.progress(written, written, "done")
    return {"items": written, "file": final.name, "bytes": size}


def _file_stem(project_name: str, export_id: int, format_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", project_name).strip("-").lower()[:60] or "project"
    return f"{slug}-export-{export_id}-{format_name}"


def _deliver(work: Path, scratch: Path, stem: str) -> Path:
    """The file to hand out, still in the scratch folder: the writer's one file, or a zip of its folder."""
    files = sorted(path for path in work.rglob("*") if path.is_file())
    if len(files) == 1 and files[0].parent == work:
        single = scratch / f"{stem}{''.join(files[0].suffixes) or ''}"
        shutil.move(files[0], single)
        return single
    archive = scratch / f"{stem}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as packed:
        for path in files:
            packed.write(path, path.relative_to(work).as_posix())
    return archive


def _finish(context: JobContext, export_id: int, *, state: ExportState, message: str, **values: Any) -> None:
    with context.database.write() as session:
        session.execute(
            update(Export)
            .where(Export.id == export_id)
            .values(state=state, message=message, finished_at=clock.now(), **values)
        )
