"""`tessera dataset upload`: local files and folders streamed into an upload dataset, through the same
service as the API's uploads (no HTTP), with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tessera.cli.common import console, runtime, shows_errors
from tessera.core.errors import Invalid, TooLarge
from tessera.ingest.models import Dataset, Media
from tessera.ingest.service import get_dataset
from tessera.ingest.sources import takes
from tessera.ingest.uploads import (
    CHUNK_SIZE,
    UploadPart,
    create_upload_dataset,
    human_bytes,
    list_dataset_projects,
    open_upload_target,
    store_files,
)


@dataclass(frozen=True)
class LocalFile:
    source: Path
    path: str  # inside the dataset's folder
    size: int


def _folder_files(folder: Path, media: Media) -> tuple[list[tuple[Path, str]], int]:
    """The files below `folder` the media takes, and how many others were left out (hidden folders are
    not entered, nor counted)."""
    found, left_out = [], 0
    for parent, folders, names in os.walk(folder):  # symlinked folders are not followed
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(names):
            source = Path(parent) / name
            relative = source.relative_to(folder).as_posix()
            if name.startswith(".") or not takes(media, relative) or not source.is_file():
                left_out += 1
                continue
            found.append((source, relative))
    return found, left_out


def local_files(
    paths: list[Path], media: Media, *, into: str | None, max_bytes: int
) -> tuple[list[LocalFile], int]:
    """What to upload: a file under its name, a folder's files under their paths in it (the ones the
    media does not take left out and counted); each checked against the size limit before any is sent."""
    prefix = f"{into.strip('/')}/" if into and into.strip("/") else ""
    chosen: list[tuple[Path, str]] = []
    left_out = 0
    for given in paths:
        if given.is_dir():
            found, skipped = _folder_files(given, media)
            chosen.extend(found)
            left_out += skipped
        else:
            chosen.append((given, given.name))
    files = [LocalFile(source, prefix + path, source.stat().st_size) for source, path in chosen]
    for file in files:
        if file.size > max_bytes:
            raise TooLarge(
                f"{str(file.source)!r} is larger than the upload limit of {human_bytes(max_bytes)} per file",
                limit_bytes=max_bytes,
            )
    return files, left_out


def _chunks(file: LocalFile, progress: Progress, bar: TaskID) -> Iterator[bytes]:
    progress.update(bar, description=file.path)
    with file.source.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            progress.advance(bar, len(chunk))
            yield chunk


def _check_choice(dataset_id: int | None, create: str | None, media: Media | None) -> None:
    if (dataset_id is None) == (create is None):
        raise Invalid("give either --dataset ID or --create NAME", field="--dataset")
    if create is not None and media is None:
        raise Invalid("--create needs --media (image or text)", field="--media")


def upload_files(
    paths: list[Path],
    *,
    dataset_id: int | None,
    create: str | None,
    media: Media | None,
    text_column: str | None,
    into: str | None,
    skip_existing: bool,
) -> None:
    _check_choice(dataset_id, create, media)
    with runtime() as active:
        settings = active.settings
        with active.database.read() as session:
            known: Dataset | None = get_dataset(session, dataset_id) if dataset_id is not None else None
        chosen_media = known.media if known is not None else media
        assert chosen_media is not None  # _check_choice: --create comes with --media
        files, left_out = local_files(paths, chosen_media, into=into, max_bytes=settings.max_upload_bytes)
        with active.database.write() as session:
            dataset = known or create_upload_dataset(
                session,
                settings=settings,
                name=str(create),
                media=chosen_media,
                text_column=text_column,
                created_by_id=None,
            )
            target = open_upload_target(session, settings=settings, dataset=dataset)
            project_ids = list_dataset_projects(session, dataset.id)
        if create is not None:
            console.print(f"created upload dataset {dataset.id}: {dataset.name}", highlight=False)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            bar = progress.add_task("uploading", total=sum(file.size for file in files))
            parts = (UploadPart(file.path, _chunks(file, progress, bar)) for file in files)
            result = store_files(
                target, parts, max_file_bytes=settings.max_upload_bytes, skip_existing=skip_existing
            )
    total = sum(stored.size for stored in result.stored)
    console.print(
        f"uploaded {len(result.stored):,} files ({human_bytes(total)}) to dataset {dataset.id} "
        f"(folder {target.folder!r})",
        highlight=False,
    )
    if result.skipped:
        console.print(f"left out {len(result.skipped):,} files already there", highlight=False)
    if left_out:
        console.print(
            f"left out {left_out:,} files of the folders: hidden, or not {target.media.value} files",
            highlight=False,
        )
    for project_id in project_ids:
        console.print(
            f"project {project_id} gets them at its next refresh (`tessera project refresh {project_id}`)",
            highlight=False,
        )


@shows_errors
def upload_command(
    paths: list[Path] = typer.Argument(
        ..., exists=True, help="Files and folders to upload (a folder's files keep their sub-folders)."
    ),
    dataset: int | None = typer.Option(None, help="Id of the upload dataset to add to."),
    create: str | None = typer.Option(None, help="Create an upload dataset of this name first."),
    media: Media | None = typer.Option(None, help="With --create: image or text."),
    text_column: str | None = typer.Option(
        None, help="With --create: .csv / .jsonl: the column with the text."
    ),
    into: str | None = typer.Option(None, help="A sub-folder of the dataset's folder to put the files in."),
    skip_existing: bool = typer.Option(
        False, "--skip-existing", help="Leave out files already uploaded instead of stopping."
    ),
) -> None:
    """Upload local files and folders into an upload dataset (in the default datastore), streamed, with
    a progress bar; all or nothing. Projects of the dataset get the files at their next refresh."""
    upload_files(
        paths,
        dataset_id=dataset,
        create=create,
        media=media,
        text_column=text_column,
        into=into,
        skip_existing=skip_existing,
    )
