"""Signed center tokens for QR codes: HMAC-SHA256 with a server secret, no personal data.

    C1.<center code>.p<poster version>.<signature>    printed on a poster; reissuing revokes
    C1.<center code>.k<time window>.<signature>       shown on a kiosk; valid for two windows

The signature covers everything before it, so changing the center, the version or the window
makes the token invalid. It is cut to 16 base64url characters (96 bits): short enough for a
readable chat message, far too long to guess.

The key is CHECKIN_TOKEN_KEY and nothing else: it used to be derived from SECRET_KEY, whose
default was public, so anyone could forge every poster. Rotating it invalidates every printed
poster at once (see docs/checkin.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

PREFIX = "C1"
KIOSK_WINDOW_SECONDS = 120
SIGNATURE_LENGTH = 16
TOKEN_PATTERN = re.compile(r"^C1\.([a-z0-9_-]{1,32})\.([pk])([0-9a-z]{1,12})\.([A-Za-z0-9_-]{16})$")


class TokenError(Exception):
    """A token that cannot be used; `reason` is "invalid" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CenterToken:
    center_code: str
    kind: str  # "poster" or "kiosk"
    number: int  # the poster version, or the kiosk time window


class MissingKeyError(RuntimeError):
    """CHECKIN_TOKEN_KEY is empty: no token is made or accepted."""


def secret() -> bytes:
    """Return the signing key, CHECKIN_TOKEN_KEY; fail closed when it is empty."""
    configured = current_app.config.get("CHECKIN_TOKEN_KEY")
    if not configured:
        raise MissingKeyError("CHECKIN_TOKEN_KEY is not set: check-in codes cannot be signed")
    return str(configured).encode()


def _sign(payload: str, key: bytes) -> str:
    digest = hmac.new(key, f"checkin:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_LENGTH]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def window_of(now: datetime) -> int:
    """Return the kiosk time window `now` falls in."""
    return int(now.timestamp()) // KIOSK_WINDOW_SECONDS


def _token(code: str, letter: str, number: int, key: bytes | None) -> str:
    payload = f"{PREFIX}.{code}.{letter}{_base36(number)}"
    return f"{payload}.{_sign(payload, key or secret())}"


def poster_token(code: str, version: int, key: bytes | None = None) -> str:
    """Make the token printed on a center's poster."""
    return _token(code, "p", version, key)


def kiosk_token(code: str, now: datetime, key: bytes | None = None) -> str:
    """Make the token a kiosk shows during the current time window."""
    return _token(code, "k", window_of(now), key)


def verify(token: str, now: datetime, key: bytes | None = None) -> CenterToken:
    """Check the signature (and a kiosk token's window); raise TokenError when unusable."""
    match = TOKEN_PATTERN.match(token.strip())
    if match is None:
        raise TokenError("invalid")
    code, letter, number, signature = match.groups()
    expected = _sign(token.strip().rsplit(".", 1)[0], key or secret())
    if not hmac.compare_digest(expected, signature):
        raise TokenError("invalid")
    value = int(number, 36)
    if letter == "k" and window_of(now) - value not in (0, 1):
        # The current and the previous window: a code read just before it changed still works.
        raise TokenError("expired")
    return CenterToken(code, "poster" if letter == "p" else "kiosk", value)
