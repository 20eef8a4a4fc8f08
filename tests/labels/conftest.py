"""Helpers for the label validation tests: a project's classes, an item, payload builders."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tessera.core.errors import Invalid
from tessera.labels.validation import LabelContext, validate_label
from tessera.projects.models import TaskType

CLASSES = {"cat": 1, "dog": 2, "car": 3, "traffic light": 4}  # folded name -> id
NAMES = {1: "Cat", 2: "Dog", 3: "Car", 4: "Traffic Light"}  # id -> name as the project spells it
WIDTH, HEIGHT = 64, 48
TEXT = "Ada Lovelace met 🙂 Babbage in London."

T = TaskType


def context(task_type: TaskType, **item: Any) -> LabelContext:
    defaults: dict[str, Any] = (
        {"text": TEXT} if task_type.media == "text" else {"width": WIDTH, "height": HEIGHT}
    )
    return LabelContext(task_type=task_type, classes=CLASSES, **{**defaults, **item})


def validate(task_type: TaskType, payload: Any, **item: Any) -> dict[str, Any]:
    return validate_label(payload, context(task_type, **item))


def outcome(task_type: TaskType, payload: Any, **item: Any) -> dict[str, Any] | Invalid:
    try:
        return validate(task_type, payload, **item)
    except Invalid as error:
        return error


def refused(task_type: TaskType, payload: Any, **item: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        validate(task_type, payload, **item)
    return caught.value


def box(**fields: Any) -> dict[str, Any]:
    return {"class": "car", "x": 10, "y": 20, "width": 30.5, "height": 20, **fields}


def polygon(points: list[list[float]], name: str = "car") -> dict[str, Any]:
    return {"class": name, "points": points}


def span(start: Any, end: Any, name: Any = "cat") -> dict[str, Any]:
    return {"start": start, "end": end, "class": name}


def png(array: np.ndarray, mode: str | None = None, **save: Any) -> str:
    image = (
        Image.fromarray(array) if mode is None else Image.frombytes(mode, array.shape[::-1], array.tobytes())
    )
    if image.mode == "P":
        image.putpalette([channel for value in range(256) for channel in (value, 255 - value, 0)])
    output = io.BytesIO()
    image.save(output, format="PNG", **save)
    return base64.b64encode(output.getvalue()).decode()


def mask(values: list[list[int]]) -> np.ndarray:
    return np.asarray(values, dtype=np.uint8)


def decoded(stored_png: str) -> np.ndarray:
    with Image.open(io.BytesIO(base64.b64decode(stored_png))) as image:
        assert image.mode == "L"
        return np.asarray(image)


SMALL = mask([[0, 1, 1], [2, 2, 0]])  # 3×2
