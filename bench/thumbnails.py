"""The `thumbnails` benchmark: thumbnails of 4000×3000 JPEG photos (made here with real-photo-like
content: gradients and noise) with Pillow's draft mode, and with a full decode of the same files in the
same run (the reference)."""

from __future__ import annotations

import io
import random
import time
from typing import Any

from PIL import Image, ImageFilter

from tessera.ingest.thumbnails import make_thumbnail

WIDTH, HEIGHT = 4000, 3000


def photo(seed: int) -> bytes:
    generator = random.Random(seed)
    small = Image.new("RGB", (160, 120))
    small.putdata(
        [
            (generator.randrange(256), generator.randrange(256), generator.randrange(256))
            for _ in range(160 * 120)
        ]
    )
    image = small.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC).filter(ImageFilter.DETAIL)
    output = io.BytesIO()
    image.save(output, "JPEG", quality=88)
    return output.getvalue()


def _rate(photos: list[bytes], *, draft: bool, size: int) -> float:
    started = time.perf_counter()
    for data in photos:
        make_thumbnail(io.BytesIO(data), size, draft=draft)
    return len(photos) / (time.perf_counter() - started)


def run(*, items: int | None, database: str | None) -> dict[str, Any]:
    count = items or 20
    photos = [photo(seed) for seed in range(count)]
    draft = _rate(photos, draft=True, size=256)
    full = _rate(photos, draft=False, size=256)
    return {
        "bench": "thumbnails",
        "params": {
            "images": count,
            "width": WIDTH,
            "height": HEIGHT,
            "size": 256,
            "mean_jpeg_kb": round(sum(map(len, photos)) / count / 1024),
        },
        "figures": {"draft_thumbnails_per_s": round(draft, 1), "speedup": round(draft / full, 1)},
        "reference": {"full_decode_thumbnails_per_s": round(full, 1)},
    }
