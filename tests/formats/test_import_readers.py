"""The import readers on their own (no database): whatever bytes come, a reader answers records and
problems, never another exception, and a label it defers to the matched item raises only `Invalid`; and
the mask decoders agree with the tools that wrote the masks (pycocotools, Label Studio's SDK)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import numpy as np
import pycocotools.mask as coco_mask
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_studio_sdk.converter.brush import decode_rle, mask2rle

from tessera.core.errors import Invalid
from tessera.formats.import_formats import IMPORT_FORMATS
from tessera.formats.import_masks import coco_rle, label_studio_brush
from tessera.formats.import_records import ReadOptions
from tessera.labels.payload import LabelContext
from tessera.projects.models import TaskType

KEYS = [
    "images", "categories", "annotations", "id", "image_id", "category_id", "file_name", "width", "height",
    "bbox", "segmentation", "counts", "size", "name", "data", "result", "type", "value", "x", "y", "points",
    "rle", "format", "start", "end", "text", "labels", "label", "path", "image_url", "topX", "polygon",
    "choices", "rectanglelabels", "original_width", "original_height", "predictions", "score",
]  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    max_leaves=30,
)
PAIRS = [(fmt.name, task_type) for fmt in IMPORT_FORMATS.values() for task_type in fmt.task_types]
CONTEXTS = {
    task_type: LabelContext(task_type, {"cat": 1, "dog": 2}, width=40, height=30, text="Ana went to Tokyo")
    for task_type in TaskType
}


def _check(fmt: str, task_type: TaskType, data: bytes) -> None:
    parsed = IMPORT_FORMATS[fmt].reader(data, task_type, ReadOptions())
    for record in parsed.records:
        if callable(record.label):
            with contextlib.suppress(Invalid):
                record.label(CONTEXTS[task_type])
        record.locate("label.boxes.0.x")
        record.reference.shown()


@pytest.mark.parametrize(("fmt", "task_type"), PAIRS)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON)
def test_a_reader_turns_any_json_into_records_and_problems(fmt: str, task_type: TaskType, value: Any) -> None:
    text = json.dumps(value)
    _check(fmt, task_type, text.encode())
    _check(fmt, task_type, (text + "\n" + text).encode())
    _check(
        fmt,
        task_type,
        json.dumps([{"data": {"image": "a.png"}, "annotations": [{"result": [value]}]}]).encode(),
    )
    _check(
        fmt,
        task_type,
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png"}],
                "categories": [{"id": 1, "name": "cat"}],
                "annotations": [value],
            }
        ).encode(),
    )


@pytest.mark.parametrize(("fmt", "task_type"), PAIRS)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    data=st.binary(max_size=200) | st.text(alphabet='ab,;"\n\t{}[]:-#=BIO 0123', max_size=120).map(str.encode)
)
def test_a_reader_turns_any_bytes_into_records_and_problems(
    fmt: str, task_type: TaskType, data: bytes
) -> None:
    _check(fmt, task_type, data)
    _check(fmt, task_type, b"path,label,labels,annotations\n" + data)


def test_coco_rle_decodes_as_pycocotools_encodes() -> None:
    generator = np.random.default_rng(3)
    mask = (generator.random((23, 31)) > 0.6).astype(np.uint8)
    encoded = coco_mask.encode(np.asfortranarray(mask))
    assert np.array_equal(coco_rle(encoded["counts"].decode("ascii"), 23, 31, "segmentation"), mask == 1)
    with pytest.raises(Invalid, match="runs of"):
        coco_rle([5, 5], 23, 31, "segmentation")


def test_label_studio_brush_decodes_as_its_sdk_encodes() -> None:
    generator = np.random.default_rng(4)
    mask = np.where(generator.random((17, 29)) > 0.7, 255, 0).astype(np.uint8)
    rle = mask2rle(mask)
    assert np.array_equal(label_studio_brush(rle, 17, 29, "rle"), mask == 255)
    assert np.array_equal(decode_rle(rle).reshape(17, 29, 4)[:, :, 3] > 0, mask == 255)
    with pytest.raises(Invalid, match="RGBA image"):
        label_studio_brush(rle, 17, 30, "rle")
