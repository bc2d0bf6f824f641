"""Builders for test data: raw webhook events and signed bodies, as LINE sends them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from tests.conftest import CHANNEL_SECRET


def new_user_id() -> str:
    return "U" + uuid.uuid4().hex


def event(kind: str, user_id: str, **fields: Any) -> dict[str, Any]:
    """Build a complete webhook event of `kind` with every field the SDK requires."""
    base: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
    }
    if kind != "unfollow":
        base["replyToken"] = uuid.uuid4().hex
    base.update(fields)
    return base


def text_event(user_id: str, text: str) -> dict[str, Any]:
    return event("message", user_id, message={"id": str(uuid.uuid4().int)[:18], "type": "text",
                                               "text": text, "quoteToken": uuid.uuid4().hex})


def sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_webhook(base_url: str, body: bytes | dict, signature: str | None = "auto",
                 ) -> requests.Response:
    """POST a body to the app's webhook, signed correctly unless told otherwise."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Line-Signature"] = sign(raw)
    elif signature is not None:
        headers["X-Line-Signature"] = signature
    return requests.post(base_url + "/callback", data=raw, headers=headers, timeout=10)


def run_threads(target: Callable[[], None], count: int, timeout: float) -> list[BaseException]:
    """Run `target` in `count` threads at once, join each for up to `timeout` seconds, and
    return what they raised (a test asserts the list is empty)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 (returned to the test)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return errors
