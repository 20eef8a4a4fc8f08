"""One labeler's label for one item: checked against the project's task type, classes and the item, and
turned into the form it is stored in (classes by id), and back into the form the API shows (by name).

Payloads name classes by their names, compared folded like the project's label classes are (Unicode
NFKC, whitespace collapsed, case ignored); stored labels hold class ids, so renaming a class renames it in
every label. Every problem is an `Invalid` naming the field by its dotted path ("label.boxes.2.width"),
never another exception. The formats, per task type (input → stored):

- classification, multiclass: `{"classes": [name]}` (exactly one) → `{"classes": [id]}`;
  multilabel: `{"classes": [name, ...]}` (one or more, none twice) → `{"classes": [id, ...]}` sorted.
- object detection: `{"boxes": [{"class", "x", "y", "width", "height"}]}` → `"class_id"` for `"class"`
  (geometry.py).
- instance segmentation: `{"polygons": [{"class", "points": [[x, y], ...]}]}` → `"class_id"` for
  `"class"` (geometry.py).
- semantic segmentation: `{"mask_png", "classes": [name, ...]}` → `{"mask_png", "class_ids"}` (masks.py).
- named entities: `{"spans": [{"start", "end", "class"}]}` → `"class_id"` for `"class"` (spans.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tessera.core.errors import Invalid
from tessera.labels.geometry import validate_boxes, validate_polygons
from tessera.labels.masks import validate_mask
from tessera.labels.payload import (
    LabelContext,
    describe,
    read_list,
    read_object,
    resolve_distinct_classes,
)
from tessera.labels.spans import validate_spans
from tessera.projects.label_classes import MAX_LABEL_CLASSES
from tessera.projects.models import TaskType

__all__ = ["LabelContext", "label_classes", "render_label", "validate_label"]

Validator = Callable[[Mapping[str, Any], LabelContext], dict[str, Any]]

SHAPE_LISTS = ("boxes", "polygons", "spans")  # stored lists of shapes, each with one "class_id"


def validate_one_class(payload: Mapping[str, Any], context: LabelContext) -> dict[str, Any]:
    """Multiclass classification: `{"classes": [name]}`, exactly one class."""
    label = read_object(payload, "label", keys=("classes",))
    names = read_list(label["classes"], "label.classes", max_items=MAX_LABEL_CLASSES)
    if len(names) != 1:
        raise Invalid(f"must hold exactly one class (got {len(names)})", field="label.classes")
    return {"classes": resolve_distinct_classes(names, "label.classes", context, max_items=1)}


def validate_some_classes(payload: Mapping[str, Any], context: LabelContext) -> dict[str, Any]:
    """Multilabel classification: `{"classes": [name, ...]}`, one or more, none twice; stored sorted."""
    label = read_object(payload, "label", keys=("classes",))
    class_ids = resolve_distinct_classes(
        label["classes"], "label.classes", context, max_items=MAX_LABEL_CLASSES
    )
    if not class_ids:
        raise Invalid("must hold at least one class", field="label.classes")
    return {"classes": sorted(class_ids)}


VALIDATORS: dict[TaskType, Validator] = {
    TaskType.image_classification_multiclass: validate_one_class,
    TaskType.image_classification_multilabel: validate_some_classes,
    TaskType.text_classification_multiclass: validate_one_class,
    TaskType.text_classification_multilabel: validate_some_classes,
    TaskType.object_detection: validate_boxes,
    TaskType.instance_segmentation: validate_polygons,
    TaskType.semantic_segmentation: validate_mask,
    TaskType.text_ner: validate_spans,
}


def validate_label(payload: Mapping[str, Any], context: LabelContext) -> dict[str, Any]:
    """The label as stored, or `Invalid` naming the field (dotted path, e.g. "label.boxes.2.width")
    and what is wrong.

    Image tasks whose context has no width and height are checked for everything but the image's right
    and bottom edges. Empty lists of boxes, polygons or spans (and an all-zero mask) are labels too: the
    labeler found nothing to mark.
    """
    if not isinstance(payload, Mapping):
        raise Invalid(f"must be an object, not {describe(payload)}", field="label")
    return VALIDATORS[context.task_type](payload, context)


def _name(class_id: int, class_names: Mapping[int, str]) -> str | None:
    """A class's name; None (null) for a class deleted from the project since the label was made."""
    return class_names.get(class_id)


def _render_shape(shape: Mapping[str, Any], class_names: Mapping[int, str]) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    for key, value in shape.items():
        if key == "class_id":
            rendered["class"] = _name(value, class_names)
        elif key == "points":
            rendered[key] = [list(point) for point in value]
        else:
            rendered[key] = value
    return rendered


def render_label(stored: Mapping[str, Any], class_names: Mapping[int, str]) -> dict[str, Any]:
    """The stored label as the API shows it (class ids back to names): the payload format it was sent
    in. A class no longer in the project shows as null."""
    rendered: dict[str, Any] = {}
    for key, value in stored.items():
        if key in ("classes", "class_ids"):
            rendered["classes"] = [_name(class_id, class_names) for class_id in value]
        elif key in SHAPE_LISTS:
            rendered[key] = [_render_shape(shape, class_names) for shape in value]
        else:
            rendered[key] = value
    return rendered


def label_classes(stored: Mapping[str, Any]) -> list[int]:
    """The class ids a stored label uses, each once, in the order they first appear (for per-class
    counters)."""
    class_ids: list[int] = []
    for key, value in stored.items():
        if key in ("classes", "class_ids"):
            class_ids.extend(value)
        elif key in SHAPE_LISTS:
            class_ids.extend(shape["class_id"] for shape in value)
    return list(dict.fromkeys(class_ids))
