"""Builders of stored labels for the review tests."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

from tessera.review.masks import read_masks


def classes(*class_ids: int) -> dict[str, Any]:
    return {"classes": list(class_ids)}


def box(class_id: int, x: float, y: float, width: float, height: float) -> dict[str, Any]:
    return {"class_id": class_id, "x": x, "y": y, "width": width, "height": height}


def boxes(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"boxes": list(entries)}


def polygon(class_id: int, *points: tuple[float, float]) -> dict[str, Any]:
    return {"class_id": class_id, "points": [list(point) for point in points]}


def square(class_id: int, x: float, y: float, side: float) -> dict[str, Any]:
    return polygon(class_id, (x, y), (x + side, y), (x + side, y + side), (x, y + side))


def polygons(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"polygons": list(entries)}


def spans(*entries: tuple[int, int, int]) -> dict[str, Any]:
    return {"spans": [{"start": start, "end": end, "class_id": class_id} for start, end, class_id in entries]}


def mask(rows: list[list[int]], class_ids: list[int]) -> dict[str, Any]:
    """A stored mask from pixel values (k ≥ 1 means class_ids[k-1])."""
    output = io.BytesIO()
    Image.fromarray(np.asarray(rows, dtype=np.uint8)).save(output, format="PNG")
    return {"mask_png": base64.b64encode(output.getvalue()).decode("ascii"), "class_ids": class_ids}


def class_map(label: dict[str, Any]) -> list[list[int]]:
    """A stored mask as the class id of each pixel (0: none)."""
    (codes,), classes_used = read_masks([label])
    table = np.asarray([0, *classes_used])
    return table[codes].tolist()
