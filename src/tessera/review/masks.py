"""Consensus on semantic segmentation masks, and the pixel comparisons the metrics use.

A stored mask is `{"mask_png": <base64 PNG, 8-bit grayscale>, "class_ids": [...]}`: pixel value k ≥ 1
means class_ids[k-1], 0 means no class. To compare labelers, every mask is translated into one shared
code space (0 = no class, i = the i-th of the classes any labeler used, in id order).

Rule. Each pixel takes the value (a class or "no class") that a strict majority of labelers gave it, and
no class where there is none. A pixel is *labeled* when at least one labeler gave it a class (the
pixels everybody left empty would otherwise swamp the score); the score is the mean, over the labeled
pixels, of the share of labelers who gave the pixel its most common value (1.0 when no pixel is
labeled). The item is agreed when `share_decides(score, threshold)`: the score is > 0.5 and ≥ threshold.
So two labelers agree when, on average over what either painted, they agree on more than half of it
(a pixel they disagree on counts 0.5). The consensus mask is stored like a label: `class_ids` in id order,
only the classes some pixel uses.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from tessera.review.votes import Agreement, ConsensusRule, share_decides

MAX_MASK_CLASSES = 255  # 8-bit pixel values, 0 being "no class"

Codes = npt.NDArray[np.uint16]


def read_masks(labels: Sequence[Mapping[str, Any]]) -> tuple[list[Codes], list[int]]:
    """Each label's mask in the shared code space, and the class ids the codes 1.. stand for.
    Masks of different sizes, or pixel values past their `class_ids`, raise ValueError."""
    classes = sorted({int(class_id) for label in labels for class_id in label.get("class_ids") or []})
    code_of = {class_id: code for code, class_id in enumerate(classes, start=1)}
    masks = [_read_codes(label, code_of) for label in labels]
    if len({mask.shape for mask in masks}) > 1:
        raise ValueError(f"masks of different sizes: {sorted({mask.shape for mask in masks})}")
    return masks, classes


def _read_codes(label: Mapping[str, Any], code_of: Mapping[int, int]) -> Codes:
    data = base64.b64decode(str(label["mask_png"]).removeprefix("data:image/png;base64,"))
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        if image.mode not in ("L", "P"):
            raise ValueError(f"a mask must be an 8-bit grayscale PNG, not mode {image.mode}")
        values = np.asarray(image, dtype=np.uint8)
    class_ids = [int(class_id) for class_id in label.get("class_ids") or []]
    if int(values.max(initial=0)) > len(class_ids):
        raise ValueError(f"a mask has pixel value {int(values.max())} but only {len(class_ids)} class_ids")
    table = np.zeros(256, dtype=np.uint16)
    table[1 : len(class_ids) + 1] = [code_of[class_id] for class_id in class_ids]
    codes: Codes = table[values]
    return codes


def mask_consensus(labels: Sequence[Mapping[str, Any]], rule: ConsensusRule) -> Agreement:
    """Masks of 2 or more labelers under the per-pixel majority rule the module describes."""
    masks, classes = read_masks(labels)
    value, top = majority(masks)
    labeled = np.logical_or.reduce([mask != 0 for mask in masks])
    score = float(np.mean(top[labeled])) / len(masks) if labeled.any() else 1.0
    if not share_decides(score, rule.threshold):
        return Agreement(agreed=False, label=None, score=score)
    consensus = np.where(2 * top.astype(np.int64) > len(masks), value, 0).astype(np.uint16)
    return Agreement(agreed=True, label=stored_mask(consensus, classes), score=score)


def majority(masks: Sequence[Codes]) -> tuple[Codes, npt.NDArray[np.uint16]]:
    """Per pixel, the most common value and how many labelers gave it (on a tie, the value of the
    first labeler among the tied ones: callers only use the value where it is a strict majority)."""
    top = np.zeros(masks[0].shape, dtype=np.uint16)
    value = np.zeros(masks[0].shape, dtype=np.uint16)
    for mask in masks:
        count = np.zeros(mask.shape, dtype=np.uint16)
        for other in masks:
            count += mask == other
        better = count > top
        top[better] = count[better]
        value[better] = mask[better]
    return value, top


def stored_mask(codes: Codes, classes: Sequence[int]) -> dict[str, Any]:
    """A mask in the shared code space in stored form: renumbered to the classes it uses, as a PNG."""
    used = [int(code) for code in np.unique(codes) if code]
    if len(used) > MAX_MASK_CLASSES:
        raise ValueError(f"a mask can hold {MAX_MASK_CLASSES} classes, not {len(used)}")
    table = np.zeros(len(classes) + 1, dtype=np.uint8)
    table[used] = np.arange(1, len(used) + 1, dtype=np.uint8)
    output = io.BytesIO()
    Image.fromarray(table[codes]).save(output, format="PNG")
    png = base64.b64encode(output.getvalue()).decode("ascii")
    return {"mask_png": png, "class_ids": [classes[code - 1] for code in used]}


def pixel_agreement(a: Codes, b: Codes) -> float:
    """The share of the pixels either mask labels on which both give the same class; 1.0 when neither
    labels any pixel."""
    painted = (a != 0) | (b != 0)
    total = int(np.count_nonzero(painted))
    return int(np.count_nonzero((a == b) & painted)) / total if total else 1.0


def class_ious(a: Codes, b: Codes) -> list[float]:
    """The IoU of each class either mask uses (its pixels in a against its pixels in b)."""
    ious = []
    for code in np.union1d(np.unique(a), np.unique(b)):
        if code:
            in_a, in_b = a == code, b == code
            ious.append(int(np.count_nonzero(in_a & in_b)) / int(np.count_nonzero(in_a | in_b)))
    return ious
