"""In-memory state of the emulated LINE platform, safe to share between request threads."""
from __future__ import annotations

import copy
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

REQUEST_LOG_SIZE = 200_000


@dataclass
class Delivery:
    """One accepted send request: who gets which messages, and how it was sent."""

    via: str
    recipients: list[str]
    messages: list[dict[str, Any]]
    request_id: str
    sent_messages: list[dict[str, str]]
    retry_key: str | None = None
    at: float = field(default_factory=time.time)


class RetryKeyConflict(Exception):
    """The retry key was already accepted; carries the first request's answer."""

    def __init__(self, request_id: str, sent_messages: list[dict[str, str]]) -> None:
        super().__init__(request_id)
        self.request_id = request_id
        self.sent_messages = sent_messages


class Store:
    """Hold everything the emulator knows; every method takes the one lock."""

    def __init__(self, webhook_url: str | None = None) -> None:
        self.lock = threading.RLock()
        self.webhook_url = webhook_url
        # Requests per second allowed under a path prefix (LINE's per-endpoint rate limits);
        # empty: unlimited. Kept across reset(), like the webhook URL.
        self.rate_limits: dict[str, float] = {}
        self._windows: dict[str, tuple[int, int]] = {}
        self._clear()

    def _clear(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.dropped: dict[str, int] = {}
        self.reply_tokens: dict[str, dict[str, Any]] = {}
        self.retry_keys: dict[str, tuple[str, list[dict[str, str]]]] = {}
        self.faults: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.events: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, tuple[bytes, str]] = {}
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.rich_menu_images: dict[str, tuple[bytes, str]] = {}
        self.default_rich_menu: str | None = None
        self.user_rich_menus: dict[str, str] = {}
        self.rich_menu_aliases: dict[str, str] = {}
        # What a richmenuswitch tap shows a user until the API changes their menu again.
        self.switched_rich_menus: dict[str, str] = {}
        self.timelines: dict[str, list[dict[str, Any]]] = {}
        self.scan_targets: list[dict[str, str]] = []
        self.usage = 0

    def reset(self) -> None:
        """Forget everything except the webhook URL."""
        with self.lock:
            self._clear()

    # Users

    def add_user(self, user: dict[str, Any]) -> dict[str, Any]:
        """Store a test user (replacing one with the same id) and return a copy."""
        with self.lock:
            self.users[user["userId"]] = dict(user)
            self.received.setdefault(user["userId"], [])
            return dict(user)

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        """Return a copy of the user, or None."""
        with self.lock:
            user = self.users.get(user_id)
            return dict(user) if user else None

    def list_users(self) -> list[dict[str, Any]]:
        """Return copies of all users, with how many pushes were dropped while blocked."""
        with self.lock:
            return [dict(u, droppedWhileBlocked=self.dropped.get(uid, 0))
                    for uid, u in self.users.items()]

    def set_blocked(self, user_id: str, blocked: bool) -> None:
        """Mark the user as having blocked (unfollowed) or followed the account."""
        with self.lock:
            if user_id in self.users:
                self.users[user_id]["blocked"] = blocked

    def active_user_ids(self) -> list[str]:
        """Return the ids of users who have not blocked the account."""
        with self.lock:
            return [uid for uid, u in self.users.items() if not u.get("blocked")]

    # Reply tokens

    def issue_reply_token(self, token: str, user_id: str, now: float) -> None:
        """Make a reply token valid from now on, for this user."""
        with self.lock:
            self.reply_tokens[token] = {"userId": user_id, "issuedAt": now, "used": False}

    def use_reply_token(self, token: str, now: float, ttl: float) -> str | None:
        """Spend the token and return its user, or None if unknown, used or expired."""
        with self.lock:
            entry = self.reply_tokens.get(token)
            if entry is None or entry["used"] or now - entry["issuedAt"] > ttl:
                return None
            entry["used"] = True
            return entry["userId"]

    # Deliveries

    def deliver(self, delivery: Delivery) -> None:
        """Record an accepted request for its recipients, or raise RetryKeyConflict."""
        with self.lock:
            key = delivery.retry_key
            if key is not None:
                if key in self.retry_keys:
                    raise RetryKeyConflict(*self.retry_keys[key])
                self.retry_keys[key] = (delivery.request_id, delivery.sent_messages)
            for user_id in delivery.recipients:
                self._record(user_id, delivery)

    def _record(self, user_id: str, delivery: Delivery) -> None:
        # LINE accepts sends to a user who blocked the account but delivers nothing.
        user = self.users.get(user_id)
        if user is not None and user.get("blocked"):
            self.dropped[user_id] = self.dropped.get(user_id, 0) + len(delivery.messages)
            return
        inbox = self.received.setdefault(user_id, [])
        timeline = self.timelines.setdefault(user_id, [])
        for message in delivery.messages:
            # One copy shared by both lists: readers get copies, so nobody changes it.
            kept = copy.deepcopy(message)
            inbox.append({"via": delivery.via, "message": kept, "at": delivery.at,
                          "retryKey": delivery.retry_key, "requestId": delivery.request_id})
            timeline.append({"side": "bot", "via": delivery.via, "at": delivery.at,
                             "message": kept})
        if delivery.via != "reply":
            self.usage += len(delivery.messages)

    def received_since(self, user_id: str, since: int) -> tuple[list[dict[str, Any]], int]:
        """Return the user's entries from index `since` and the next index."""
        with self.lock:
            inbox = self.received.get(user_id, [])
            return copy.deepcopy(inbox[since:]), len(inbox)

    # The conversation as the chat page shows it: both sides, in order

    def note_user_message(self, user_id: str, message: dict[str, Any]) -> None:
        """Record what the user's own screen shows they sent."""
        with self.lock:
            self.timelines.setdefault(user_id, []).append(
                {"side": "user", "at": time.time(), "message": copy.deepcopy(message)})

    def timeline_since(self, user_id: str, since: int) -> tuple[list[dict[str, Any]], int]:
        """Return the user's conversation entries from index `since` and the next index."""
        with self.lock:
            timeline = self.timelines.get(user_id, [])
            return copy.deepcopy(timeline[since:]), len(timeline)

    # Faults

    def add_fault(self, rule: dict[str, Any]) -> None:
        """Add a fault rule."""
        with self.lock:
            self.faults.append(dict(rule))

    def clear_faults(self) -> None:
        """Remove all fault rules."""
        with self.lock:
            self.faults.clear()

    def take_fault(self, path: str) -> dict[str, Any] | None:
        """Return the first live rule matching the path, counting this use against it."""
        with self.lock:
            for rule in self.faults:
                if rule["count"] > 0 and path.startswith(rule["path"]):
                    rule["count"] -= 1
                    return dict(rule)
            return None

    # Rate limits

    def set_rate_limits(self, limits: dict[str, float]) -> None:
        """Replace the per-path limits (requests per second); an empty dict lifts them."""
        with self.lock:
            self.rate_limits = dict(limits)
            self._windows = {}

    def over_rate_limit(self, path: str, now: float) -> bool:
        """Count a request; True when its path's limit for this second is already used up.

        Fixed one-second windows per limited path prefix, as LINE counts requests per second.
        """
        with self.lock:
            for prefix, rate in self.rate_limits.items():
                if path.startswith(prefix):
                    second = int(now)
                    start, used = self._windows.get(prefix, (second, 0))
                    if start != second:
                        used = 0
                    if used >= rate:
                        self._windows[prefix] = (second, used)
                        return True
                    self._windows[prefix] = (second, used + 1)
            return False

    # Request log, events, contents

    def log_request(self, entry: dict[str, Any]) -> None:
        """Append an entry to the API request log."""
        with self.lock:
            self.requests.append(entry)

    def request_log(self, prefix: str = "") -> list[dict[str, Any]]:
        """Return logged API requests whose path starts with prefix."""
        with self.lock:
            return [dict(r) for r in self.requests if r["path"].startswith(prefix)]

    def remember_event(self, event: dict[str, Any]) -> None:
        """Keep a sent event so it can be redelivered."""
        with self.lock:
            self.events[event["webhookEventId"]] = copy.deepcopy(event)

    def get_event(self, webhook_event_id: str) -> dict[str, Any] | None:
        """Return a copy of a sent event, or None."""
        with self.lock:
            event = self.events.get(webhook_event_id)
            return copy.deepcopy(event) if event else None

    def put_content(self, message_id: str, content: bytes, content_type: str) -> None:
        """Store the bytes of a message a user sent."""
        with self.lock:
            self.contents[message_id] = (content, content_type)

    def get_content(self, message_id: str) -> tuple[bytes, str] | None:
        """Return (bytes, content type) of a user's message, or None."""
        with self.lock:
            return self.contents.get(message_id)

    # Rich menus

    def add_rich_menu(self, rich_menu: dict[str, Any]) -> None:
        """Store a rich menu."""
        with self.lock:
            self.rich_menus[rich_menu["richMenuId"]] = copy.deepcopy(rich_menu)

    def get_rich_menu(self, rich_menu_id: str) -> dict[str, Any] | None:
        """Return a copy of a rich menu, or None."""
        with self.lock:
            menu = self.rich_menus.get(rich_menu_id)
            return copy.deepcopy(menu) if menu else None

    def list_rich_menus(self) -> list[dict[str, Any]]:
        """Return copies of all rich menus."""
        with self.lock:
            return copy.deepcopy(list(self.rich_menus.values()))

    def delete_rich_menu(self, rich_menu_id: str) -> bool:
        """Delete a rich menu, its image and its links; return whether it existed.

        Aliases are kept, as LINE keeps them: a switch to one then reports RICHMENU_NOTFOUND.
        """
        with self.lock:
            self.rich_menu_images.pop(rich_menu_id, None)
            if self.default_rich_menu == rich_menu_id:
                self.default_rich_menu = None
            for links in (self.user_rich_menus, self.switched_rich_menus):
                for user_id in [u for u, menu in links.items() if menu == rich_menu_id]:
                    del links[user_id]
            return self.rich_menus.pop(rich_menu_id, None) is not None

    def set_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str) -> None:
        """Attach an image to a rich menu."""
        with self.lock:
            self.rich_menu_images[rich_menu_id] = (image, content_type)

    def get_rich_menu_image(self, rich_menu_id: str) -> tuple[bytes, str] | None:
        """Return (bytes, content type) of a rich menu image, or None."""
        with self.lock:
            return self.rich_menu_images.get(rich_menu_id)

    def set_default_rich_menu(self, rich_menu_id: str | None) -> None:
        """Make a rich menu the default for all users (None cancels it)."""
        with self.lock:
            self.default_rich_menu = rich_menu_id
            self.switched_rich_menus.clear()

    def link_rich_menu(self, user_id: str, rich_menu_id: str | None) -> None:
        """Link a rich menu to one user (None unlinks), replacing what a switch showed."""
        with self.lock:
            if rich_menu_id is None:
                self.user_rich_menus.pop(user_id, None)
            else:
                self.user_rich_menus[user_id] = rich_menu_id
            self.switched_rich_menus.pop(user_id, None)

    def linked_rich_menu(self, user_id: str) -> str | None:
        """Return the id of the rich menu linked to the user, or None."""
        with self.lock:
            return self.user_rich_menus.get(user_id)

    def show_switched_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        """Show the user the menu a richmenuswitch action chose."""
        with self.lock:
            self.switched_rich_menus[user_id] = rich_menu_id

    def displayed_rich_menu(self, user_id: str) -> dict[str, Any] | None:
        """Return the menu the user's chat shows: switched, else linked, else the default."""
        with self.lock:
            for menu_id in (self.switched_rich_menus.get(user_id),
                            self.user_rich_menus.get(user_id), self.default_rich_menu):
                if menu_id in self.rich_menus:
                    return copy.deepcopy(self.rich_menus[menu_id])
            return None

    # Rich menu aliases

    def put_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        """Create or repoint an alias."""
        with self.lock:
            self.rich_menu_aliases[alias_id] = rich_menu_id

    def get_rich_menu_alias(self, alias_id: str) -> str | None:
        """Return the rich menu id an alias points to, or None."""
        with self.lock:
            return self.rich_menu_aliases.get(alias_id)

    def list_rich_menu_aliases(self) -> list[dict[str, str]]:
        """Return every alias with its rich menu id."""
        with self.lock:
            return [{"richMenuAliasId": alias, "richMenuId": menu}
                    for alias, menu in self.rich_menu_aliases.items()]

    def delete_rich_menu_alias(self, alias_id: str) -> bool:
        """Delete an alias; return whether it existed."""
        with self.lock:
            return self.rich_menu_aliases.pop(alias_id, None) is not None

    # QR codes the chat page offers to scan

    def set_scan_targets(self, targets: list[dict[str, str]]) -> None:
        """Replace the list of QR payloads the chat page's scan menu offers."""
        with self.lock:
            self.scan_targets = [dict(t) for t in targets]

    def scan_target(self, target_id: str) -> dict[str, str] | None:
        """Return the scan menu's target with this id, as last posted, or None."""
        with self.lock:
            return next((dict(t) for t in self.scan_targets if t.get("id") == target_id), None)

    def list_scan_targets(self) -> list[dict[str, str]]:
        """Return the scan menu's QR payloads."""
        with self.lock:
            return [dict(t) for t in self.scan_targets]
