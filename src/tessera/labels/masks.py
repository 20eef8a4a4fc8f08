"""Semantic segmentation masks: one PNG of per-pixel class indices, exactly the size of the image.

The payload's `classes` name the project classes the PNG's pixel values stand for: value k ≥ 1 means
`classes[k-1]`, 0 means no class. The PNG is checked from its header before it is decoded (signature,
8-bit grayscale or palette, its size against the image's and against MAX_MASK_PIXELS), so a hostile file
never costs more than one mask of the allowed size. The stored mask is re-encoded: a grayscale PNG without
any ancillary chunk whose values index `class_ids`, which list only the classes some pixel uses, in
the payload's order.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from tessera.core.errors import Invalid
from tessera.labels.payload import LabelContext, read_object, read_string, resolve_distinct_classes

MAX_MASK_PNG_BYTES = 32 * 1024 * 1024
MAX_MASK_PIXELS = 64 * 1024 * 1024  # e.g. 8192×8192
MAX_MASK_CLASSES = 255  # 8-bit pixel values, 0 being "no class"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"  # what a browser canvas's toDataURL("image/png") gives
GRAYSCALE, PALETTE = 0, 3  # PNG colour types
COLOUR_TYPES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale with alpha", 6: "RGBA"}

Indices = npt.NDArray[np.uint8]


def _decode_base64(value: object, field: str) -> bytes:
    text = read_string(value, field).removeprefix(DATA_URL_PREFIX)
    if len(text) > (MAX_MASK_PNG_BYTES + 2) // 3 * 4:
        raise Invalid(f"must be at most {MAX_MASK_PNG_BYTES // (1024 * 1024)} MiB of PNG", field=field)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise Invalid("must be a PNG file in base64", field=field) from error


def _check_header(data: bytes, context: LabelContext, field: str) -> tuple[int, int]:
    """The PNG's (width, height), from its IHDR chunk, after checking its kind and size."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        raise Invalid("must be a PNG file (its data does not start like one)", field=field)
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if not (colour == GRAYSCALE and depth == 8) and not (colour == PALETTE and depth <= 8):
        kind = COLOUR_TYPES.get(colour, f"colour type {colour}")
        raise Invalid(
            f"must be an 8-bit grayscale or palette PNG of class indices (got {depth}-bit {kind})",
            field=field,
        )
    known = context.width is not None and context.height is not None
    if known and (width, height) != (context.width, context.height):
        raise Invalid(
            f"is {width}×{height} pixels; it must be the image's size, {context.width}×{context.height}",
            field=field,
        )
    if width < 1 or height < 1 or width * height > MAX_MASK_PIXELS:
        raise Invalid(f"must be between 1 and {MAX_MASK_PIXELS:,} pixels (got {width}×{height})", field=field)
    return width, height


def _decode_indices(data: bytes, size: tuple[int, int], field: str) -> Indices:
    """The pixel values (palette indices for a palette PNG) as a height×width array."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            frames, mode = getattr(image, "n_frames", 1), image.mode
            indices = np.asarray(image, dtype=np.uint8) if frames == 1 and mode in ("L", "P") else None
    except Exception as error:  # Pillow raises many kinds (OSError, SyntaxError, zlib.error...) on bad data
        raise Invalid(f"is not a readable PNG ({error})", field=field) from error
    if frames != 1:
        raise Invalid(f"must be a single image (this PNG is animated, {frames} frames)", field=field)
    if indices is None:
        raise Invalid(f"must decode to one 8-bit channel (got mode {mode})", field=field)
    if indices.shape != (size[1], size[0]):
        raise Invalid("is not a readable PNG (its pixels do not match its header)", field=field)
    return indices


def _check_values(indices: Indices, present: npt.NDArray[np.bool_], class_count: int, field: str) -> None:
    """Every pixel value names a class: 0 (no class) up to `class_count`."""
    beyond = np.flatnonzero(present[class_count + 1 :])
    if beyond.size:
        value = int(beyond[0]) + class_count + 1
        row, column = (int(at) for at in np.argwhere(indices == value)[0])
        raise Invalid(
            f"pixel ({column}, {row}) has value {value}, but classes lists {class_count} "
            "(value k means classes[k-1], 0 means no class)",
            field=field,
        )


def _renumbered(indices: Indices, used: list[int]) -> Indices:
    """The mask with the used values renumbered 1, 2, ... in order (the same array when they are)."""
    if used == list(range(1, len(used) + 1)):
        return indices
    renumber = np.zeros(256, dtype=np.uint8)
    renumber[used] = np.arange(1, len(used) + 1, dtype=np.uint8)
    return renumber[indices]


def _encode(indices: Indices) -> str:
    output = io.BytesIO()
    Image.fromarray(indices).save(output, format="PNG")
    return base64.b64encode(output.getvalue()).decode("ascii")


def validate_mask(payload: Mapping[str, Any], context: LabelContext) -> dict[str, Any]:
    """`{"mask_png": "<base64 PNG>", "classes": [name, ...]}`; an all-zero mask means "no class"."""
    label = read_object(payload, "label", keys=("mask_png", "classes"))
    class_ids = resolve_distinct_classes(
        label["classes"], "label.classes", context, max_items=MAX_MASK_CLASSES
    )
    data = _decode_base64(label["mask_png"], "label.mask_png")
    size = _check_header(data, context, "label.mask_png")
    indices = _decode_indices(data, size, "label.mask_png")
    present = np.zeros(256, dtype=np.bool_)
    present[indices.ravel()] = True  # which values occur: faster than counting them
    _check_values(indices, present, len(class_ids), "label.mask_png")
    used = [value for value in range(1, len(class_ids) + 1) if present[value]]
    return {
        "mask_png": _encode(_renumbered(indices, used)),
        "class_ids": [class_ids[value - 1] for value in used],
    }
