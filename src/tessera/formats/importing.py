"""Importing labels from a file: read it (formats' readers), find the items its records name
(import_matching.py), check every label with the project's own validation, and write them all in the
caller's one transaction — or nothing, with every problem listed as `{record, field, reason}`.

Modes: `final` — each item gets an annotation by the system user `imported` and is settled as labeled
with it as the label that counts (whatever the project's consensus settings: an imported label is not
one vote among several), through the same settling code as a labeler's submit, so the counters, class
counts and the history stay right; imported labels are not counted as a labeler's work (throughput).
`prelabels` — each item gets the label as its pre-filled one (source `imported`, replacing any other),
and the queue hands it out in prelabeled tasks for a labeler to confirm or correct.

Items that already have labels (labeled, needing review, or with some labels waiting for more), and
items taken out of labeling (removed, or skipped and waiting for a reviewer) are left alone and counted
in the report. Classes the project lacks: `reject` refuses the file, naming each place they are used;
`add` adds them to the project, under the rule of changing classes (review/classes.py): once labeling
has started, the project must be paused first (409 otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.accounts.system_users import IMPORTED, system_user
from tessera.core import clock
from tessera.core.errors import Invalid
from tessera.formats.import_formats import get_import_format
from tessera.formats.import_matching import match_references
from tessera.formats.import_records import ImportRecord, ParsedFile, Problem, ReadOptions
from tessera.items.models import Item, ItemState
from tessera.labels.models import Annotation, Prelabel, PrelabelSource
from tessera.labels.payload import LabelContext
from tessera.projects.label_classes import LabelClassSpec, clean_label_names, fold_name
from tessera.projects.models import Project, TaskType
from tessera.queue.models import LabelingSettings
from tessera.review.classes import change_label_classes
from tessera.review.settle import Standing, account, items_loaded, note_label, settle
from tessera.review.workflow import ImageSize, checked_label, label_context, record

MAX_IMPORT_BYTES = 200 * 1024 * 1024  # an import file is read into memory whole
MAX_LISTED = 1000  # unmatched or ambiguous references listed in a report, and problems in a refusal
BATCH = 1000  # items read and written at a time


class ImportMode(StrEnum):
    final = "final"
    prelabels = "prelabels"


class MissingClasses(StrEnum):
    add = "add"
    reject = "reject"


@dataclass(frozen=True)
class ImportOptions:
    format: str
    mode: ImportMode = ImportMode.final
    missing_classes: MissingClasses = MissingClasses.reject
    text_column: str | None = None
    label_column: str | None = None


@dataclass
class ImportReport:
    records: int = 0  # records with a label
    matched: int = 0
    imported: int = 0
    skipped_already_labeled: int = 0
    skipped_out_of_queue: int = 0  # removed items, and items skipped by a labeler awaiting review
    without_label: int = 0
    replaced_prelabels: int = 0
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    classes_added: list[str] = field(default_factory=list)


def read_import(data: bytes, *, task_type: TaskType, options: ImportOptions) -> ParsedFile:
    """The file's records and problems; reads only the bytes (run it before the write transaction)."""
    fmt = get_import_format(options.format, task_type)
    return fmt.reader(data, task_type, ReadOptions(options.text_column, options.label_column))


def import_labels(
    session: Session,
    *,
    project: Project,
    parsed: ParsedFile,
    options: ImportOptions,
    by_user_id: int | None,
    image_size: ImageSize | None = None,
) -> ImportReport:
    """Import the parsed file's labels into the project, in the session's transaction: everything, or
    `Invalid` with `details.problems` and nothing written."""
    report = ImportReport(records=len(parsed.records), without_label=parsed.without_label)
    problems = list(parsed.problems)
    matches = match_references(session, project, [entry.reference for entry in parsed.records])
    report.unmatched, report.ambiguous = matches.unmatched[:MAX_LISTED], matches.ambiguous[:MAX_LISTED]
    report.matched = len(matches.items)
    first: dict[int, int] = {}
    chosen: list[tuple[ImportRecord, int]] = []
    for position, item_id in matches.items.items():
        entry = parsed.records[position]
        if item_id in first:
            problems.append(Problem(entry.record, None, f"names the same item as record {first[item_id]}"))
            continue
        first[item_id] = entry.record
        chosen.append((entry, item_id))
    items = _lock_items(session, [item_id for _, item_id in chosen])
    wanted = [(entry, items[item_id]) for entry, item_id in chosen if _open(items[item_id], report)]
    classes, missing = _classes(project, wanted, options, problems)
    stored = _validate(project, wanted, classes, image_size, problems)
    _refuse(problems, missing if options.missing_classes == MissingClasses.reject else {})
    if missing:
        stored = _add_classes(session, project, missing, stored, by_user_id, report)
    labeler = system_user(session, IMPORTED) if options.mode == ImportMode.final and stored else None
    for start in range(0, len(stored), BATCH):
        batch = stored[start : start + BATCH]
        with items_loaded(session, [item.id for _, item, _ in batch]):
            if labeler is not None:
                _apply_final(session, project, batch, labeler.id)
            else:
                report.replaced_prelabels += _apply_prelabels(session, project, batch)
    report.imported = len(stored)
    return report


def _lock_items(session: Session, item_ids: list[int]) -> dict[int, Item]:
    """The items, in batches (short IN lists); on PostgreSQL locked in id order, so that two imports of
    the same items run one after the other and the second sees what the first wrote."""
    ids, items = sorted(set(item_ids)), dict[int, Item]()
    for start in range(0, len(ids), BATCH):
        query = select(Item).where(Item.id.in_(ids[start : start + BATCH])).order_by(Item.id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        items.update((item.id, item) for item in session.scalars(query))
    return items


def _open(item: Item, report: ImportReport) -> bool:
    """Whether the item takes an imported label; else counted in the report."""
    if item.state in (ItemState.removed, ItemState.skipped):
        report.skipped_out_of_queue += 1
        return False
    if item.state != ItemState.unlabeled or item.label_count > 0:
        report.skipped_already_labeled += 1
        return False
    return True


Wanted = list[tuple[ImportRecord, Item]]
Stored = list[tuple[ImportRecord, Item, dict[str, Any]]]


def _classes(
    project: Project, wanted: Wanted, options: ImportOptions, problems: list[Problem]
) -> tuple[dict[str, int], dict[str, str]]:
    """The classes labels may name (folded name → id; a class to add gets a stand-in negative id) and
    the classes missing from the project (folded → name as first written)."""
    classes = {fold_name(label_class.name): label_class.id for label_class in project.label_classes}
    missing: dict[str, str] = {}
    where: dict[str, int] = {}
    for entry, _ in wanted:
        for name in entry.classes:
            key, spaced = fold_name(name), fold_name(name.replace("_", " "))
            if key not in classes and entry.underscored and spaced in classes:
                classes[key] = classes[spaced]
            elif key not in classes and key not in missing:
                missing[key], where[key] = name, entry.record
    if options.missing_classes == MissingClasses.add:
        for index, key in enumerate(missing):
            try:
                clean_label_names([LabelClassSpec(missing[key])])
            except Invalid as error:
                reason = (error.details.get("errors") or [{"message": error.message}])[0]["message"]
                problems.append(
                    Problem(where[key], "class", f"class {missing[key]!r} cannot be added: {reason}")
                )
            classes[key] = -(index + 1)
    return classes, missing


def _validate(
    project: Project,
    wanted: Wanted,
    classes: dict[str, int],
    image_size: ImageSize | None,
    problems: list[Problem],
) -> Stored:
    stored: Stored = []
    for entry, item in wanted:
        context: LabelContext = replace(label_context(project, item, image_size), classes=classes)
        try:
            label = entry.label(context) if callable(entry.label) else entry.label
            stored.append((entry, item, checked_label(label, context)))
        except Invalid as error:
            detail = (error.details.get("errors") or [{"field": error.field, "message": error.message}])[0]
            at, label_field = entry.locate(detail.get("field"))
            problems.append(Problem(at, label_field, detail["message"]))
    return stored


def _refuse(problems: list[Problem], missing: Mapping[str, str]) -> None:
    if not problems:
        return
    problems.sort(key=lambda problem: problem.record or 0)
    count = len(problems)
    message = f"the file was not imported: {count} problem{'s' if count != 1 else ''}; nothing was changed"
    if missing:
        names = ", ".join(repr(name) for name in missing.values())
        message += f". Classes not in the project: {names} (import with missing_classes=add to add them)"
    raise Invalid(
        message,
        details={"problems": [problem.shown() for problem in problems[:MAX_LISTED]], "problems_total": count},
    )


def _add_classes(
    session: Session,
    project: Project,
    missing: Mapping[str, str],
    stored: Stored,
    by_user_id: int | None,
    report: ImportReport,
) -> Stored:
    """Add the missing classes (the rule of review/classes.py applies), and put their ids in the labels."""
    specs = [LabelClassSpec(label_class.name, label_class.id) for label_class in project.label_classes]
    change_label_classes(
        session, project=project, specs=[*specs, *(LabelClassSpec(name) for name in missing.values())],
        changed_by_id=by_user_id,
    )  # fmt: skip
    ids = {label_class.name_key: label_class.id for label_class in project.label_classes}
    real = {-(index + 1): ids[key] for index, key in enumerate(missing)}
    report.classes_added = [name for key, name in missing.items() if key in ids]
    return [(entry, item, _renumbered(label, real)) for entry, item, label in stored]


def _renumbered(label: dict[str, Any], ids: Mapping[int, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in label.items():
        if key == "classes":
            out[key] = sorted(ids.get(class_id, class_id) for class_id in value)
        elif key == "class_ids":
            out[key] = [ids.get(class_id, class_id) for class_id in value]
        elif key in ("boxes", "polygons", "spans"):
            out[key] = [
                {**shape, "class_id": ids.get(shape["class_id"], shape["class_id"])} for shape in value
            ]
        else:
            out[key] = value
    return out


def _apply_final(session: Session, project: Project, stored: Stored, labeler_id: int) -> None:
    """Each label as the item's only one and the label that counts, settled like a labeler's submit."""
    alone = LabelingSettings(project_id=project.id, page_size=1, min_labelers=1, max_labelers=1)
    for _, item, label in stored:
        before = Standing.of(session, item)
        session.add(Annotation(project_id=project.id, item_id=item.id, user_id=labeler_id, payload=label))
        note_label(session, item.id, label)
        item.version += 1
        settle(session, item, project, alone)
        account(session, item, before)
        record(session, item, labeler_id, "import", None, label)


def _apply_prelabels(session: Session, project: Project, stored: Stored) -> int:
    """Each label as the item's pre-filled one; how many replaced another."""
    replaced = 0
    for entry, item, label in stored:
        offered = session.get(Prelabel, item.id)
        if offered is None:
            offered = Prelabel(item_id=item.id, project_id=project.id)
            session.add(offered)
        else:
            replaced += 1
        offered.payload, offered.source, offered.confidence = label, PrelabelSource.imported, entry.confidence
        offered.created_at = clock.now()
        item.prelabeled = True
        item.version += 1
    session.flush()
    return replaced
