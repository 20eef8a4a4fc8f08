"""Label classes: ordered, trimmed, non-empty and unique (ignoring case) within a project."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

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
        if len(name) > MAX_LABEL_NAME_CHARS:
            raise Invalid(f"must be at most {MAX_LABEL_NAME_CHARS} characters", field=f"{field}.{index}")
        key = fold_name(name)
        if key in seen:
            raise Invalid(
                f"{name!r} repeats label class {seen[key]} (names are compared ignoring case)",
                field=f"{field}.{index}",
            )
        seen[key] = index
        cleaned.append(LabelClassSpec(name=name, id=spec.id))
    return cleaned


def apply_label_classes(project: Project, specs: Sequence[LabelClassSpec]) -> None:
    """Make the project's classes exactly `specs`, in order: rename by id, add new, drop the rest."""
    cleaned = clean_label_names(specs)
    existing = {label.id: label for label in project.label_classes}
    unknown = [spec.id for spec in cleaned if spec.id is not None and spec.id not in existing]
    if unknown:
        raise Invalid(f"label class {unknown[0]} is not in project {project.id}", field="label_classes")
    kept: list[LabelClass] = []
    for position, spec in enumerate(cleaned):
        label = existing.get(spec.id) if spec.id is not None else None
        if label is None:
            label = LabelClass(name=spec.name, name_key=fold_name(spec.name), position=position)
        label.name, label.name_key, label.position = spec.name, fold_name(spec.name), position
        kept.append(label)
    project.label_classes = kept
