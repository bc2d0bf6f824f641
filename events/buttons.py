"""The events feature's button data (bot.postback): the chat answers them, pushes carry them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.postback import PostbackData


@dataclass(frozen=True)
class Reserve(PostbackData, prefix="ev.reserve"):
    """Reserve an event for all eligible children (child None) or for one child."""

    event: int
    child: int | None = None


@dataclass(frozen=True)
class Wait(PostbackData, prefix="ev.wait"):
    """Join a full event's waitlist (one entry per household)."""

    event: int


@dataclass(frozen=True)
class More(PostbackData, prefix="ev.more"):
    """The next page of the events carousel."""

    offset: int


@dataclass(frozen=True)
class Mine(PostbackData, prefix="ev.mine"):
    """The household's reservations and waitlist places."""


@dataclass(frozen=True)
class CancelReservation(PostbackData, prefix="ev.cancel"):
    reservation: int


@dataclass(frozen=True)
class LeaveWaitlist(PostbackData, prefix="ev.leave"):
    entry: int


@dataclass(frozen=True)
class Accept(PostbackData, prefix="ev.accept"):
    entry: int


@dataclass(frozen=True)
class Decline(PostbackData, prefix="ev.decline"):
    entry: int


@dataclass(frozen=True)
class Suggestions(PostbackData, prefix="ev.suggest"):
    """Turn suggested events on or off."""

    on: bool


def postback(label: str, data: PostbackData, display: str | None = None) -> dict[str, Any]:
    """Build a postback action (for a template, a Flex button or a quick reply)."""
    action: dict[str, Any] = {"type": "postback", "label": label[:20], "data": data.pack()}
    if display:
        action["displayText"] = display[:300]
    return action
