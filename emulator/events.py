"""Build webhook events exactly as LINE sends them, and sign and post them."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import requests

from . import ids

WEBHOOK_TIMEOUT = 10.0
BODY_PREVIEW = 1000


def _base(kind: str, user_id: str, with_reply_token: bool = True) -> dict[str, Any]:
    """Return the fields every event carries; the SDK drops events missing any of them."""
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ids.webhook_event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if with_reply_token:
        event["replyToken"] = ids.reply_token()
    return event


def text_event(user_id: str, text: str) -> dict[str, Any]:
    """Return a text message event."""
    message = {"id": ids.message_id(), "type": "text", "quoteToken": ids.quote_token(), "text": text}
    return dict(_base("message", user_id), message=message)


def image_event(user_id: str, message_id: str) -> dict[str, Any]:
    """Return an image message event whose content is stored under message_id."""
    message = {"id": message_id, "type": "image", "quoteToken": ids.quote_token(),
               "contentProvider": {"type": "line"}}
    return dict(_base("message", user_id), message=message)


def location_event(user_id: str, address: str, latitude: float, longitude: float,
                   title: str | None = None) -> dict[str, Any]:
    """Return a location message event."""
    message: dict[str, Any] = {"id": ids.message_id(), "type": "location", "address": address,
                               "latitude": float(latitude), "longitude": float(longitude)}
    if title:
        message["title"] = title
    return dict(_base("message", user_id), message=message)


def postback_event(user_id: str, data: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """Return a postback event, with the picked date/time in params when given."""
    postback: dict[str, Any] = {"data": data}
    if params:
        postback["params"] = params
    return dict(_base("postback", user_id), postback=postback)


def follow_event(user_id: str, unblocked: bool = False) -> dict[str, Any]:
    """Return a follow event; unblocked is true when a blocking user comes back."""
    return dict(_base("follow", user_id), follow={"isUnblocked": unblocked})


def unfollow_event(user_id: str) -> dict[str, Any]:
    """Return an unfollow (block) event, which has no reply token."""
    return _base("unfollow", user_id, with_reply_token=False)


def as_redelivery(event: dict[str, Any]) -> dict[str, Any]:
    """Return the event marked as redelivered, keeping its id and reply token."""
    return dict(event, deliveryContext={"isRedelivery": True})


def signature(channel_secret: str, body: bytes) -> str:
    """Return base64(HMAC-SHA256(channel secret, body)), the X-Line-Signature value."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def post_events(url: str, channel_secret: str, destination: str,
                events: list[dict[str, Any]], http: Any = requests) -> dict[str, Any]:
    """Sign and POST events to the webhook; return the app's status, timing and body.

    `http` is what posts: the requests module, or a requests.Session (tests mount an
    in-process adapter on the platform's session to reach an app without a socket).
    """
    body = json.dumps({"destination": destination, "events": events},
                      ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "LineBotWebhook/2.0",
               "X-Line-Signature": signature(channel_secret, body)}
    result: dict[str, Any] = {
        "webhookEventIds": [e.get("webhookEventId") for e in events],
        "replyTokens": [e["replyToken"] for e in events if e.get("replyToken")],
    }
    started = time.perf_counter()
    try:
        response = http.post(url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
    except requests.RequestException as exc:
        return dict(result, status=None, elapsedMs=_ms_since(started), body="", error=str(exc))
    return dict(result, status=response.status_code, elapsedMs=_ms_since(started),
                body=response.text[:BODY_PREVIEW])


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
