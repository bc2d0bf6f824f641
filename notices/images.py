"""A notice's image: checked, resized to LINE's limits, stored, and served from a signed URL."""

from __future__ import annotations

import hashlib
import hmac
import io

from flask import current_app
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from models.notice import Notice, NoticeImage

MAX_SIDE = 1024  # LINE's Flex hero images: up to 1024 x 1024 pixels
MAX_UPLOAD = 10 * 1024 * 1024  # and up to 10 MB
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding


class ImageError(ValueError):
    """An upload that is not an image LINE can show; the message says why."""


def signature(notice_id: int) -> str:
    """Return the signature of a notice's image URL (keyed from SECRET_KEY)."""
    key = hashlib.sha256(b"notice-image:" + str(current_app.config["SECRET_KEY"]).encode()).digest()
    return hmac.new(key, str(notice_id).encode(), hashlib.sha256).hexdigest()[:32]


def resized_jpeg(data: bytes) -> tuple[bytes, int, int]:
    """Return the image as a JPEG no larger than MAX_SIDE on either side."""
    if len(data) > MAX_UPLOAD:
        raise ImageError("The image is larger than 10 MB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageError("The image has too many pixels.")
            image = image.convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue(), image.width, image.height
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ImageError("This file is not a JPEG or PNG image.") from None


def attach(session: Session, notice: Notice, data: bytes, base_url: str) -> NoticeImage:
    """Store the notice's image and the signed URL LINE will fetch it from."""
    jpeg, width, height = resized_jpeg(data)
    path = f"/notices/images/{notice.id}/{signature(notice.id)}.jpg"
    row = NoticeImage(notice_id=notice.id, content_type="image/jpeg", data=jpeg, width=width,
                      height=height, url=base_url.rstrip("/") + path)
    session.merge(row)
    session.flush()
    return row
