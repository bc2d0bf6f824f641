"""Identifiers shaped like the ones LINE issues."""
from __future__ import annotations

import re
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
RETRY_KEY_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def user_id() -> str:
    """Return a new LINE-like user id: "U" and 32 hex digits."""
    return "U" + secrets.token_hex(16)


def message_id() -> str:
    """Return a new numeric message id (LINE's are 18-digit decimal strings)."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def reply_token() -> str:
    """Return a new reply token."""
    return secrets.token_hex(16)


def quote_token() -> str:
    """Return a new quote token."""
    return "q" + secrets.token_urlsafe(48)


def request_id() -> str:
    """Return a new request id, as LINE sends in x-line-request-id."""
    return secrets.token_hex(16)


def rich_menu_id() -> str:
    """Return a new rich menu id."""
    return "richmenu-" + secrets.token_hex(16)


def webhook_event_id() -> str:
    """Return a new ULID-like id: 10 chars of milliseconds, 16 chars of randomness."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))
