"""Label classes: ordered, trimmed, non-empty and unique (ignoring case) within a project."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tessera.core.errors import Invalid
from tessera.projects.models import LabelClass, Project

MAX_LABEL_CLASSES = 10_000
MAX_LABEL_NAME_CHARS = 100


@dataclass(frozen=True)
class LabelClassSpec:
    """A wanted label class: `id` keeps (and may rename) an existing one; None adds a new one."""

    name: str
    id: int | None = None


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(character) == "Cc" for character in text)


def fold_name(name: str) -> str:
    """The form two names are compared in: NFKC, whitespace collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def clean_label_names(specs: Sequence[LabelClassSpec], field: str = "label_classes") -> list[LabelClassSpec]:
    if not specs:
        raise Invalid("at least one label class is required", field=field)
    if len(specs) > MAX_LABEL_CLASSES:
        raise Invalid(f"at most {MAX_LABEL_CLASSES} label classes are allowed", field=field)
    seen: dict[str, int] = {}
    cleaned: list[LabelClassSpec] = []
    for index, spec in enumerate(specs):
        name = " ".join(spec.name.split())
        if not name:
            raise Invalid("label class names must not be empty", field=f"{field}.{index}")
        if has_control_characters(name):
            raise Invalid("must not contain control characters", field=f"{field}.{index}")
        key = fold_name(name)
        if len(name) > MAX_LABEL_NAME_CHARS or len(key) > MAX_LABEL_NAME_CHARS:
            raise Invalid(f"must be at most {MAX_LABEL_NAME_CHARS} characters", field=f"{field}.{index}")
        if key in seen:
            raise Invalid(
                f"{name!r} repeats label class {seen[key]} (names are compared ignoring case)",
                field=f"{field}.{index}",
            )
        seen[key] = index
        cleaned.append(LabelClassSpec(name=name, id=spec.id))
    return cleaned


def _check_ids(project: Project, specs: Sequence[LabelClassSpec]) -> None:
    existing = {label.id for label in project.label_classes}
    seen: set[int] = set()
    for index, spec in enumerate(specs):
        if spec.id is None:
            continue
        if spec.id not in existing:
            raise Invalid(
                f"label class {spec.id} is not in project {project.id}", field=f"label_classes.{index}"
            )
        if spec.id in seen:
            raise Invalid(f"label class {spec.id} is listed twice", field=f"label_classes.{index}")
        seen.add(spec.id)


def _match_existing(project: Project, specs: Sequence[LabelClassSpec]) -> list[LabelClass | None]:
    """The existing class each spec keeps: by id, else by name (so re-sending a name keeps its class)."""
    by_id = {label.id: label for label in project.label_classes}
    claimed = {spec.id for spec in specs if spec.id is not None}
    by_name = {label.name_key: label for label in project.label_classes if label.id not in claimed}
    return [
        by_id[spec.id] if spec.id is not None else by_name.pop(fold_name(spec.name), None) for spec in specs
    ]


def apply_label_classes(session: Session, project: Project, specs: Sequence[LabelClassSpec]) -> None:
    """Make the project's classes exactly `specs`, in order: keep (and rename) by id or by name, add new
    ones, drop the rest. Renames go through temporary keys first, so swapping two names never trips the
    (project, name) uniqueness half-way through."""
    cleaned = clean_label_names(specs)
    _check_ids(project, cleaned)
    matches = _match_existing(project, cleaned)
    kept_ids = {label.id for label in matches if label is not None}
    for label in list(project.label_classes):
        if label.id not in kept_ids:
            project.label_classes.remove(label)
        else:
            label.name_key = f"\x01{label.id}"  # control characters never occur in real names
    session.flush()
    final: list[LabelClass] = []
    for position, (spec, match) in enumerate(zip(cleaned, matches, strict=True)):
        label = match or LabelClass(name=spec.name, name_key=fold_name(spec.name), position=position)
        label.name, label.name_key, label.position = spec.name, fold_name(spec.name), position
        final.append(label)
    project.label_classes = final
    session.flush()
