"""A small Python client for the emulator's control API, for tests and benchmarks."""
from __future__ import annotations

import base64
from typing import Any

import requests

TIMEOUT = (2.0, 15.0)


class EmulatorError(Exception):
    """The control API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def message_text(message: dict[str, Any]) -> str | None:
    """Return what a chat list would show for a message: its text or its altText."""
    if message.get("type") in ("text", "textV2"):
        return message.get("text")
    if message.get("type") in ("template", "flex", "imagemap"):
        return message.get("altText")
    return None


class EmulatorClient:
    """Drive an emulator over HTTP: users, events, what users received, faults."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/_emulator{path}",
                                     timeout=TIMEOUT, **kwargs)
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, response.json().get("message", response.text))
        return response.json()

    # Users and configuration

    def create_user(self, user_id: str | None = None, display_name: str | None = None,
                    language: str = "ja") -> dict[str, Any]:
        """Create a test user and return it (with its generated userId)."""
        data: dict[str, Any] = {"language": language}
        if user_id:
            data["userId"] = user_id
        if display_name:
            data["displayName"] = display_name
        return self._call("POST", "/users", json=data)

    def users(self) -> list[dict[str, Any]]:
        """List test users."""
        return self._call("GET", "/users")["users"]

    def set_webhook(self, url: str) -> None:
        """Set the webhook URL events are posted to."""
        self._call("POST", "/webhook", json={"url": url})

    def reset(self) -> None:
        """Forget users, received messages, faults, tokens, retry keys and rich menus."""
        self._call("POST", "/reset")

    # Events

    def send_text(self, user_id: str, text: str) -> dict[str, Any]:
        """Send a text message from the user."""
        return self._call("POST", "/events/text", json={"userId": user_id, "text": text})

    def send_postback(self, user_id: str, data: str, params: dict[str, str] | None = None,
                      display_text: str | None = None) -> dict[str, Any]:
        """Send a postback from the user (params: {"date"|"time"|"datetime": value})."""
        payload: dict[str, Any] = {"userId": user_id, "data": data}
        if params:
            payload["params"] = params
        if display_text:
            payload["displayText"] = display_text
        return self._call("POST", "/events/postback", json=payload)

    def tap_rich_menu_switch(self, user_id: str, alias_id: str, data: str) -> dict[str, Any]:
        """Tap a richmenuswitch area: show the aliased menu and send its postback."""
        payload = {"userId": user_id, "richMenuAliasId": alias_id, "data": data}
        return self._call("POST", "/events/richmenuswitch", json=payload)

    def shown_rich_menu(self, user_id: str) -> dict[str, Any] | None:
        """Return the rich menu the user's chat shows, or None."""
        return self._call("GET", f"/richmenu/{user_id}")["richMenu"]

    def follow(self, user_id: str, unblocked: bool = False) -> dict[str, Any]:
        """Send a follow event (unblocked=True when coming back after a block)."""
        return self._call("POST", "/events/follow", json={"userId": user_id, "isUnblocked": unblocked})

    def unfollow(self, user_id: str) -> dict[str, Any]:
        """Send an unfollow (block) event."""
        return self._call("POST", "/events/unfollow", json={"userId": user_id})

    def send_location(self, user_id: str, latitude: float, longitude: float,
                      address: str | None = None, title: str | None = None) -> dict[str, Any]:
        """Send a location message from the user."""
        payload = {"userId": user_id, "latitude": latitude, "longitude": longitude,
                   "address": address, "title": title}
        return self._call("POST", "/events/location", json=payload)

    def send_image(self, user_id: str, content: bytes,
                   content_type: str = "image/jpeg") -> dict[str, Any]:
        """Send an image from the user; the app can fetch it as message content."""
        payload = {"userId": user_id, "contentType": content_type,
                   "contentBase64": base64.b64encode(content).decode("ascii")}
        return self._call("POST", "/events/image", json=payload)

    def send_raw(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Send the given events unchanged, signed."""
        return self._call("POST", "/events/raw", json={"events": events})

    def redeliver(self, webhook_event_id: str) -> dict[str, Any]:
        """Send an event again, marked as redelivered."""
        return self._call("POST", "/redeliver", json={"webhookEventId": webhook_event_id})

    def scan(self, user_id: str, image: bytes) -> dict[str, Any]:
        """Scan a QR code image as the user; an oaMessage code sends its text."""
        payload = {"userId": user_id, "imageBase64": base64.b64encode(image).decode("ascii")}
        return self._call("POST", "/scan", json=payload)

    def scan_text(self, user_id: str, text: str) -> dict[str, Any]:
        """Scan a code by its content (an oaMessage URL or plain text), as the scan menu does."""
        return self._call("POST", "/scan", json={"userId": user_id, "text": text})

    def scan_target(self, user_id: str, target_id: str) -> dict[str, Any]:
        """Scan a scan-menu entry by its id: the code it holds now is sent."""
        return self._call("POST", "/scan", json={"userId": user_id, "target": target_id})

    def set_scan_targets(self, targets: list[dict[str, str]]) -> list[dict[str, str]]:
        """Replace what the chat page's scan menu offers: a list of {label, text, id?}."""
        return self._call("POST", "/scan-targets", json=targets)["targets"]

    def scan_targets(self) -> list[dict[str, str]]:
        """Return what the chat page's scan menu offers."""
        return self._call("GET", "/scan-targets")["targets"]

    # Inspection and faults

    def conversation(self, user_id: str, since: int = 0) -> list[dict[str, Any]]:
        """Return the user's conversation, both sides in order, as the chat page shows it."""
        return self._call("GET", f"/conversation/{user_id}", params={"since": since})["entries"]

    def webhook_events(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Return the events posted to the webhook, oldest first (optionally one user's)."""
        params = {"userId": user_id} if user_id else {}
        return self._call("GET", "/events", params=params)["events"]

    def issue_reply_tokens(self, user_id: str, tokens: list[str]) -> None:
        """Make reply tokens valid, for events the caller posts to the app itself."""
        self._call("POST", "/reply-tokens", json={"userId": user_id, "tokens": tokens})

    def received(self, user_id: str, since: int = 0) -> list[dict[str, Any]]:
        """Return the entries the user received, from index `since` on."""
        return self._call("GET", f"/received/{user_id}", params={"since": since})["messages"]

    def texts(self, user_id: str) -> list[str]:
        """Return the text (or altText) of every text, template and flex message received."""
        texts = (message_text(entry["message"]) for entry in self.received(user_id))
        return [text for text in texts if text is not None]

    def add_fault(self, path: str, status: int | None = None, count: int = 1,
                  delay: float = 0.0, after_accept: bool = False) -> dict[str, Any]:
        """Fail (or only delay) the next `count` API requests under the path."""
        rule = {"path": path, "status": status, "count": count, "delay": delay,
                "after_accept": after_accept}
        return self._call("POST", "/faults", json=rule)

    def set_rate_limits(self, limits: dict[str, float]) -> dict[str, float]:
        """Answer 429 past these requests per second under each path prefix ({} lifts them)."""
        return self._call("PUT", "/rate-limits", json=limits)

    def clear_faults(self) -> None:
        """Remove all fault rules."""
        self._call("DELETE", "/faults")

    def requests(self, path_prefix: str = "") -> list[dict[str, Any]]:
        """Return the log of API requests under the path prefix."""
        return self._call("GET", "/requests", params={"path": path_prefix})["requests"]
