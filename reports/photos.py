"""Clean a photo a resident sent: check it is an image by its content, re-encode it as JPEG.

Re-encoding drops every piece of metadata (EXIF with GPS position and camera, XMP, ICC
comments): only the pixels are kept, turned upright first as the EXIF orientation says.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # LINE's own limit on a sent image
MAX_PIXELS = 40_000_000  # refuse decompression bombs well before Pillow's own limit
LONG_EDGE = 1600  # stored photos are at most this wide or high
STORED_LIMIT = 900 * 1024  # quality is lowered until the stored JPEG fits
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "HEIF", "MPO"}


class PhotoRefused(ValueError):
    """The content is not a usable photo; `reason` is "not_image", "too_large" or "too_big"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    width: int
    height: int
    sha256: str


def clean(content: bytes) -> CleanPhoto:
    """Return the photo re-encoded as a metadata-free JPEG, or raise PhotoRefused."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise PhotoRefused("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoRefused("not_image")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRefused("too_big")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        if isinstance(err, PhotoRefused):
            raise
        raise PhotoRefused("not_image") from err
    upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((LONG_EDGE, LONG_EDGE))
    data = _encode(upright)
    return CleanPhoto(data, upright.width, upright.height, hashlib.sha256(data).hexdigest())


def _encode(image: Image.Image) -> bytes:
    """Save as JPEG with no metadata, lowering the quality until it fits the stored limit."""
    for quality in (85, 75, 65, 50, 35):
        out = io.BytesIO()
        # A fresh image carries no info dict, so nothing but pixels is written.
        Image.frombytes("RGB", image.size, image.tobytes()).save(
            out, format="JPEG", quality=quality, optimize=True)
        if out.tell() <= STORED_LIMIT:
            break
    return out.getvalue()
