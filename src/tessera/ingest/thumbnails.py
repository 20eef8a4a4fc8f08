"""Thumbnails: decoded with Pillow's draft mode (a JPEG is decoded at 1/2, 1/4 or 1/8 scale straight
away, never at full size), made once and kept on disk, written to a temporary name and renamed."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import IO

from PIL import Image, ImageOps

from tessera.core.files import write_bytes_atomically

THUMBNAIL_SIZES = (128, 256, 512)
JPEG_QUALITY = 82


def make_thumbnail(source: IO[bytes], size: int, *, draft: bool = True) -> bytes:
    """A JPEG at most `size` pixels on its longer side. Raises PIL's errors for data that is no image."""
    with Image.open(source) as opened:
        if draft:
            opened.draft("RGB", (size, size))  # JPEG: decode at the smallest scale still >= size
        image = ImageOps.exif_transpose(opened)
        image.thumbnail((size, size))
        output = io.BytesIO()
        image.convert("RGB").save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
        return output.getvalue()


def cached_thumbnail_path(data_dir: Path, project_id: int, item_id: int, size: int, version: str) -> Path:
    """Where the thumbnail of this version of the file lives (a changed file gets a new name)."""
    tag = hashlib.sha256(version.encode()).hexdigest()[:12]
    return data_dir / "thumbnails" / str(project_id) / f"{item_id}-{size}-{tag}.jpg"


def store_thumbnail(path: Path, data: bytes) -> None:
    write_bytes_atomically(path, data)
