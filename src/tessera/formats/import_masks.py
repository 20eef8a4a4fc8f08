"""Masks from other tools, turned into the semantic segmentation label the API takes (`{"mask_png",
"classes"}`): COCO's run-length encodings (the uncompressed list of counts and the compressed string),
polygons drawn into a mask, and Label Studio's brush RLE. Each decoder raises `Invalid` naming the field
when the data does not fit the image."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from tessera.core.errors import Invalid
from tessera.labels.masks import MAX_MASK_CLASSES, MAX_MASK_PIXELS

Mask = npt.NDArray[np.bool_]


def check_size(height: int, width: int, field: str) -> None:
    if width < 1 or height < 1 or width * height > MAX_MASK_PIXELS:
        raise Invalid(
            f"gives a mask size of {width}×{height}, outside 1 to {MAX_MASK_PIXELS:,} pixels", field=field
        )


def coco_counts(value: str | bytes) -> list[int]:
    """COCO's compressed RLE string (pycocotools' `rleFrString`): 6-bit characters, each run the
    difference from the run two before it."""
    text = value.decode("ascii") if isinstance(value, bytes) else value
    counts: list[int] = []
    position = 0
    while position < len(text):
        number, shift, more = 0, 0, True
        while more:
            if position >= len(text):
                raise Invalid("is a compressed RLE string that ends in the middle of a run", field="counts")
            code = ord(text[position]) - 48
            if not 0 <= code < 64:
                raise Invalid("is not a compressed COCO RLE string", field="counts")
            number |= (code & 0x1F) << (5 * shift)
            more = bool(code & 0x20)
            position, shift = position + 1, shift + 1
            if not more and code & 0x10:
                number |= -1 << (5 * shift)
        if len(counts) > 2:
            number += counts[-2]
        counts.append(number)
    return counts


def coco_rle(counts: Sequence[int] | str, height: int, width: int, field: str) -> Mask:
    """A COCO RLE (column-major runs, the first of zeros) as a height×width mask."""
    check_size(height, width, field)
    runs = coco_counts(counts) if isinstance(counts, str) else list(counts)
    if any(isinstance(run, bool) or not isinstance(run, int) or run < 0 for run in runs):
        raise Invalid("must be a list of run lengths (whole numbers, at least 0)", field=f"{field}.counts")
    if sum(runs) != height * width:
        raise Invalid(
            f"has runs of {sum(runs):,} pixels in all; its size, {width}×{height}, holds {height * width:,}",
            field=f"{field}.counts",
        )
    values = np.zeros(len(runs), dtype=np.bool_)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape(width, height).T  # column-major


def polygon_mask(points: Sequence[Sequence[float]], height: int, width: int, field: str) -> Mask:
    """The pixels a polygon covers ([[x, y], ...] in image pixels), drawn as PIL fills polygons."""
    check_size(height, width, field)
    canvas = Image.new("1", (width, height), 0)
    ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in points], fill=1, outline=1)
    return np.asarray(canvas, dtype=np.bool_)


def label_studio_brush(rle: Sequence[int], height: int, width: int, field: str) -> Mask:
    """Label Studio's brush RLE (label-studio-converter's `decode_rle`): a bit stream of a 32-bit count
    of values, a word size, four run-length sizes, then runs, either one repeated value or literal
    values; the values are the image's RGBA bytes, and a pixel is painted where its alpha is not 0."""
    check_size(height, width, field)
    if any(isinstance(byte, bool) or not isinstance(byte, int) or not 0 <= byte < 256 for byte in rle):
        raise Invalid("must be a list of bytes (whole numbers 0 to 255)", field=field)
    bits = "".join(f"{byte:08b}" for byte in rle)
    cursor = 0

    def read(size: int) -> int:
        nonlocal cursor
        if cursor + size > len(bits):
            raise Invalid("ends before its last run", field=field)
        cursor += size
        return int(bits[cursor - size : cursor], 2)

    total = read(32)
    if total != height * width * 4:
        raise Invalid(
            f"holds {total:,} values; a {width}×{height} RGBA image has {height * width * 4:,}", field=field
        )
    word, sizes = read(5) + 1, [read(4) + 1 for _ in range(4)]
    out = np.zeros(total, dtype=np.uint8)
    index = 0
    while index < total:
        repeated = read(1)
        end = min(total, index + 1 + read(sizes[read(2)]))
        if repeated:
            out[index:end] = read(word)
        else:
            out[index:end] = [read(word) for _ in range(end - index)]
        index = end
    return out.reshape(height, width, 4)[:, :, 3] > 0


def mask_label(layers: Sequence[tuple[str, Mask]], height: int, width: int, field: str) -> dict[str, object]:
    """`{"mask_png", "classes"}` from (class name, mask) layers, painted in order (a later layer wins
    where two overlap); value k of the PNG is classes[k-1]."""
    names = list(dict.fromkeys(name for name, _ in layers))
    if len(names) > MAX_MASK_CLASSES:
        raise Invalid(f"paints {len(names)} classes; a mask holds at most {MAX_MASK_CLASSES}", field=field)
    indices = np.zeros((height, width), dtype=np.uint8)
    for name, mask in layers:
        if mask.shape != (height, width):
            raise Invalid(
                f"is {mask.shape[1]}×{mask.shape[0]} pixels; the image is {width}×{height}", field=field
            )
        indices[mask] = names.index(name) + 1
    output = io.BytesIO()
    Image.fromarray(indices).save(output, format="PNG")
    return {"mask_png": base64.b64encode(output.getvalue()).decode("ascii"), "classes": names}
