"""The one LINE gateway: every call to the LINE platform goes through here.

Built on line-bot-sdk v3. The Messaging API and the blob (data) API live on two hosts in
production, so the gateway keeps two ApiClients. Every call carries an explicit timeout:
the SDK's sync client waits forever without one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.messaging.models import Message
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    EmptyPoolError,
    HTTPError,
    LocationValueError,
    ProxyError,
    ReadTimeoutError,
)

log = logging.getLogger(__name__)

__all__ = ["ApiException", "LineError", "LineGateway", "Profile", "gateway"]


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str | None
    language: str | None
    picture_url: str | None = None


class LineError(Exception):
    """A LINE call that failed: carries the HTTP status (0 for a network error) and LINE's message.

    `may_have_arrived` is true when the request left this machine but no answer came back (a
    read timeout, a connection dropped mid-exchange): LINE may have accepted it.
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 may_have_arrived: bool = False) -> None:
        super().__init__(f"LINE answered {status}: {message}")
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.may_have_arrived = may_have_arrived

    @property
    def retryable(self) -> bool:
        """429, 5xx and network errors may succeed later; other 4xx never will."""
        return self.status == 0 or self.status == 429 or self.status >= 500


def _error_from(exc: Exception) -> LineError:
    if isinstance(exc, ApiException):
        message = exc.body or exc.reason or ""
        try:
            message = json.loads(message).get("message", message)
        except (TypeError, ValueError, AttributeError):
            pass
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        return LineError(int(exc.status or 0), str(message), dict(exc.headers or {}))
    return LineError(0, f"{type(exc).__name__}: {exc}", may_have_arrived=_may_have_arrived(exc))


# Network errors raised before a byte of the request was sent: LINE cannot have seen it.
NOT_SENT = (ConnectTimeoutError, ProxyError, EmptyPoolError, ClosedPoolError, LocationValueError)


def _may_have_arrived(exc: Exception) -> bool:
    """Tell whether a failed call may have reached LINE: any network error after connecting."""
    if isinstance(exc, ReadTimeoutError):
        return True
    return isinstance(exc, (HTTPError, OSError)) and not isinstance(exc, NOT_SENT)


def to_sdk_messages(messages: list[dict[str, Any]]) -> list[Message]:
    """Turn LINE-format message dicts into the SDK's models (validated on the way)."""
    return [Message.from_dict(m) for m in messages]


def _configuration(host: str, access_token: str) -> Configuration:
    config = Configuration(host=host.rstrip("/"), access_token=access_token)
    # urllib3 would silently retry a timed-out GET three times, stretching every timeout
    # fourfold; the worker owns retries (with the retry key), so the client makes none.
    config.retries = False
    # The worker sends from a thread pool (OUTBOX_CONCURRENCY): keep that many connections
    # alive instead of opening a new one per request past the SDK's default of 5 per CPU.
    config.connection_pool_maxsize = max(config.connection_pool_maxsize or 0, 32)
    return config


class LineGateway:
    """Calls to the Messaging API and the blob API with timeouts; errors become LineError."""

    def __init__(self, access_token: str, api_base_url: str, data_api_base_url: str,
                 timeout: tuple[float, float],
                 webhook_timeout: tuple[float, float] | None = None) -> None:
        self.timeout = timeout
        # Calls made while a webhook request waits must leave room in LINE's 2-second limit.
        self.webhook_timeout = webhook_timeout or timeout
        self._api_client = ApiClient(_configuration(api_base_url, access_token))
        self._blob_client = ApiClient(_configuration(data_api_base_url, access_token))
        self.api = MessagingApi(self._api_client)
        self.blob = MessagingApiBlob(self._blob_client)

    def _call(self, fn, *args, timeout: tuple[float, float] | None = None, **kwargs):
        try:
            return fn(*args, _request_timeout=timeout or self.timeout, **kwargs)
        except Exception as exc:  # the SDK raises ApiException, urllib3 errors, pydantic errors
            raise _error_from(exc) from exc

    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> None:
        """Answer an event with its reply token (no retry key: LINE refuses one on reply)."""
        request = ReplyMessageRequest(reply_token=reply_token, messages=to_sdk_messages(messages))
        self._call(self.api.reply_message, request, timeout=self.webhook_timeout)

    def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> None:
        """Push messages to one user; the retry key makes a repeat harmless (409)."""
        request = PushMessageRequest(to=to, messages=to_sdk_messages(messages))
        self._call(self.api.push_message, request, x_line_retry_key=retry_key)

    def multicast(self, to: list[str], messages: list[dict[str, Any]], retry_key: str) -> None:
        """Send the same messages to up to 500 users."""
        request = MulticastRequest(to=to, messages=to_sdk_messages(messages))
        self._call(self.api.multicast, request, x_line_retry_key=retry_key)

    def get_profile(self, user_id: str) -> Profile:
        """Fetch a user's display name and language (while a webhook waits: short timeout)."""
        p = self._call(self.api.get_profile, user_id, timeout=self.webhook_timeout)
        return Profile(p.user_id, p.display_name, p.language, p.picture_url)

    def get_message_content(self, message_id: str) -> bytes:
        """Download an image or file a user sent (blob host)."""
        return bytes(self._call(self.blob.get_message_content, message_id))

    def create_rich_menu(self, rich_menu: dict[str, Any]) -> str:
        """Create a rich menu from its LINE JSON and return its id."""
        response = self._call(self.api.create_rich_menu, RichMenuRequest.from_dict(rich_menu))
        return response.rich_menu_id

    def set_rich_menu_image(self, rich_menu_id: str, png: bytes) -> None:
        """Upload a rich menu's image (blob host)."""
        self._call(self.blob.set_rich_menu_image, rich_menu_id, png,
                   _headers={"Content-Type": "image/png"})

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._call(self.api.set_default_rich_menu, rich_menu_id)

    def list_rich_menus(self) -> list[dict[str, Any]]:
        response = self._call(self.api.get_rich_menu_list)
        return [m.to_dict() for m in response.richmenus]

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self._call(self.api.delete_rich_menu, rich_menu_id)

    def set_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        """Point an alias at a rich menu: update it if it exists, else create it."""
        try:
            self._call(self.api.update_rich_menu_alias, alias_id,
                       UpdateRichMenuAliasRequest(rich_menu_id=rich_menu_id))
        except LineError as err:
            if err.status not in (400, 404):
                raise
            self._call(self.api.create_rich_menu_alias, CreateRichMenuAliasRequest(
                rich_menu_alias_id=alias_id, rich_menu_id=rich_menu_id))

    def rich_menu_of_alias(self, alias_id: str) -> str:
        """Return the rich menu an alias names (LineError 404 when there is no such alias)."""
        return self._call(self.api.get_rich_menu_alias, alias_id,
                          timeout=self.webhook_timeout).rich_menu_id

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        """Show this user a menu of their own instead of the default (their language's)."""
        self._call(self.api.link_rich_menu_id_to_user, user_id, rich_menu_id,
                   timeout=self.webhook_timeout)

    def link_rich_menu_bulk(self, user_ids: list[str], rich_menu_id: str) -> None:
        """Show up to 500 users one menu of their own (LINE applies it asynchronously)."""
        self._call(self.api.link_rich_menu_id_to_users,
                   RichMenuBulkLinkRequest(rich_menu_id=rich_menu_id, user_ids=user_ids))

    def close(self) -> None:
        self._api_client.close()
        self._blob_client.close()


def init_app(app: Flask) -> None:
    """Build the app's gateway from its configuration."""
    app.extensions["cityhall.gateway"] = LineGateway(
        access_token=app.config["LINE_CHANNEL_ACCESS_TOKEN"],
        api_base_url=app.config["LINE_API_BASE_URL"],
        data_api_base_url=app.config["LINE_DATA_API_BASE_URL"],
        timeout=(app.config["LINE_CONNECT_TIMEOUT"], app.config["LINE_READ_TIMEOUT"]),
        webhook_timeout=(min(app.config["LINE_CONNECT_TIMEOUT"], 1.0),
                         app.config["LINE_WEBHOOK_READ_TIMEOUT"]),
    )


def gateway() -> LineGateway:
    """Return the current app's gateway."""
    return current_app.extensions["cityhall.gateway"]
