"""Builders for LINE message objects (as the JSON LINE expects)."""

from __future__ import annotations

from typing import Any

from bot.postback import PostbackData

QUICK_REPLY_LIMIT = 13


def text(body: str, quick_replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build a text message, with quick-reply items when given."""
    message: dict[str, Any] = {"type": "text", "text": body}
    if quick_replies:
        if len(quick_replies) > QUICK_REPLY_LIMIT:
            raise ValueError(f"LINE allows {QUICK_REPLY_LIMIT} quick-reply items")
        message["quickReply"] = {"items": quick_replies}
    return message


def postback_item(label: str, data: PostbackData,
                  display_text: str | None = None) -> dict[str, Any]:
    """Build a quick-reply item that sends a postback of typed data (bot.postback)."""
    action: dict[str, Any] = {"type": "postback", "label": label[:20], "data": data.pack()}
    if display_text:
        action["displayText"] = display_text
    return {"type": "action", "action": action}


def message_item(label: str, body: str) -> dict[str, Any]:
    """Build a quick-reply item that sends a text as the user."""
    return {"type": "action", "action": {"type": "message", "label": label[:20], "text": body}}
