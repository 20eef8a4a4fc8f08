"""Semantic masks: an 8-bit PNG of class indices the image's size, checked before decoding, stored
renumbered to the classes it uses."""

from __future__ import annotations

import base64
import io
import struct

import numpy as np
import pytest
from PIL import Image

from tessera.labels.validation import label_classes
from tests.labels.conftest import SMALL, T, decoded, mask, png, refused, validate


def test_a_mask_is_stored_renumbered_to_the_classes_it_uses() -> None:
    values = mask([[0, 3, 3], [1, 1, 0]])
    stored = validate(
        T.semantic_segmentation,
        {"mask_png": png(values), "classes": ["dog", "car", "cat"]},
        width=3,
        height=2,
    )
    assert stored["class_ids"] == [2, 1]  # "car" paints no pixel
    assert decoded(stored["mask_png"]).tolist() == [[0, 2, 2], [1, 1, 0]]
    assert label_classes(stored) == [2, 1]


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(png(SMALL, "P"), id="palette"),
        pytest.param(png(SMALL, "P", bits=2), id="2-bit palette"),
        pytest.param("data:image/png;base64," + png(SMALL), id="data URL"),
    ],
)
def test_palette_masks_and_data_urls_are_read(encoded: str) -> None:
    stored = validate(
        T.semantic_segmentation, {"mask_png": encoded, "classes": ["cat", "dog"]}, width=3, height=2
    )
    assert (decoded(stored["mask_png"]).tolist(), stored["class_ids"]) == (SMALL.tolist(), [1, 2])


def test_an_empty_mask_is_a_label_and_any_size_goes_when_the_image_size_is_unknown() -> None:
    blank = png(np.zeros((5, 7), dtype=np.uint8))
    stored = validate(T.semantic_segmentation, {"mask_png": blank, "classes": []}, width=None, height=None)
    assert stored["class_ids"] == []


def _with_header_size(encoded: str, width: int, height: int) -> str:
    data = bytearray(base64.b64decode(encoded))
    data[16:24] = struct.pack(">II", width, height)
    return base64.b64encode(bytes(data)).decode()


def _truncated(encoded: str) -> str:
    return base64.b64encode(base64.b64decode(encoded)[:-30]).decode()


def _jpeg() -> str:
    output = io.BytesIO()
    Image.new("L", (3, 2)).save(output, format="JPEG")
    return base64.b64encode(output.getvalue()).decode()


def _animated() -> str:
    output = io.BytesIO()
    frames = [Image.fromarray(SMALL), Image.fromarray(SMALL[::-1].copy())]
    frames[0].save(output, format="PNG", save_all=True, append_images=frames[1:])
    return base64.b64encode(output.getvalue()).decode()


@pytest.mark.parametrize(
    ("encoded", "words"),
    [
        pytest.param("not base64!", "base64", id="not base64"),
        pytest.param(_jpeg(), "must be a PNG", id="JPEG"),
        pytest.param(png(np.zeros((2, 3, 3), dtype=np.uint8)), "8-bit RGB", id="RGB"),
        pytest.param(png(SMALL.astype(np.uint16) * 300), "16-bit grayscale", id="16-bit"),
        pytest.param(png(np.zeros((3, 3), dtype=np.uint8)), "3×3 pixels", id="wrong size"),
        pytest.param(
            png(SMALL * 2), "pixel (0, 1) has value 4, but classes lists 2", id="value without class"
        ),
        pytest.param(_truncated(png(SMALL)), "not a readable PNG", id="truncated"),
        pytest.param(_animated(), "animated", id="animated"),
    ],
)
def test_bad_masks_are_refused(encoded: str, words: str) -> None:
    error = refused(
        T.semantic_segmentation, {"mask_png": encoded, "classes": ["cat", "dog"]}, width=3, height=2
    )
    assert error.field == "label.mask_png"
    assert words in error.message


def test_a_huge_mask_is_refused_from_its_header_before_decoding() -> None:
    bomb = _with_header_size(png(SMALL), 100_000, 100_000)
    error = refused(T.semantic_segmentation, {"mask_png": bomb, "classes": []}, width=None, height=None)
    assert "pixels" in error.message


def test_mask_classes_must_be_project_classes_named_once() -> None:
    encoded = png(SMALL)
    assert (
        refused(T.semantic_segmentation, {"mask_png": encoded, "classes": ["cat", "road"]}).field
        == "label.classes.1"
    )
    assert (
        refused(T.semantic_segmentation, {"mask_png": encoded, "classes": ["cat", "CAT"]}).field
        == "label.classes.1"
    )
    assert (
        "at most 255"
        in refused(T.semantic_segmentation, {"mask_png": encoded, "classes": ["cat"] * 256}).message
    )
