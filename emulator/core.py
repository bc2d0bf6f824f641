"""The emulated platform: configuration, state, and sending events to the app."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app

from . import events, ids
from .state import Store

EXTENSION_KEY = "line_emulator"


@dataclass
class Platform:
    """One emulated LINE channel: its secrets, its state and its webhook."""

    channel_secret: str
    access_token: str
    store: Store
    reply_token_ttl: float = 60.0
    # Posts the webhook: the requests module (a connection per delivery, as LINE does), or a
    # requests.Session with an in-process adapter mounted, for tests (tests/inprocess.py).
    http: Any = requests

    @property
    def destination(self) -> str:
        """Return the bot's user id, stable for a channel secret."""
        return "U" + hashlib.sha256(self.channel_secret.encode("utf-8")).hexdigest()[:32]

    def ensure_user(self, user_id: str) -> dict[str, Any]:
        """Return the user, creating a default test user under that id if unknown."""
        user = self.store.get_user(user_id)
        return user if user else self.store.add_user(new_user(user_id))

    def send(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        """Issue the events' reply tokens, remember the events, and post them signed."""
        url = self.store.webhook_url
        if not url:
            raise LookupError("No webhook URL is set")
        now = time.time()
        for event in batch:
            self._note(event, now)
        return events.post_events(url, self.channel_secret, self.destination, batch, self.http)

    def _note(self, event: dict[str, Any], now: float) -> None:
        user_id = (event.get("source") or {}).get("userId")
        # Tokens are valid before the post: the app replies while handling it.
        if event.get("replyToken") and user_id and not _is_redelivery(event):
            self.store.issue_reply_token(event["replyToken"], user_id, now)
        if event.get("webhookEventId"):
            self.store.remember_event(event)
        if user_id and event.get("type") in ("follow", "unfollow"):
            self.ensure_user(user_id)
            self.store.set_blocked(user_id, event["type"] == "unfollow")


def _is_redelivery(event: dict[str, Any]) -> bool:
    return bool((event.get("deliveryContext") or {}).get("isRedelivery"))


def new_user(user_id: str | None = None, display_name: str | None = None,
             language: str = "ja") -> dict[str, Any]:
    """Return a test user record with LINE-like profile fields."""
    user_id = user_id or ids.user_id()
    return {
        "userId": user_id,
        "displayName": display_name or f"Test user {user_id[-4:]}",
        "pictureUrl": f"https://profile.line-scdn.net/emulator/{user_id}",
        "statusMessage": "",
        "language": language,
        "blocked": False,
    }


def platform() -> Platform:
    """Return the platform of the current emulator app."""
    return current_app.extensions[EXTENSION_KEY]
