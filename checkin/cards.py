"""The check-in and check-out confirmations as Flex cards: center, time, children.

`t` translates into the reader's language (a resident's `ctx.t`, or `translate` bound to a
language for a push), so the chat and the staff's pushes show the same card.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import flex

Translate = Callable[..., str]


def checked_in(t: Translate, *, center: str, time: str, names: str, ended: list[str],
               alt_text: str, by_staff: bool = False) -> dict[str, Any]:
    """Say where, when and who was checked in, and which visit elsewhere ended."""
    body = [flex.row(t("Center"), center, strong=True), flex.row(t("Time"), time),
            flex.row(t("Children"), names)]
    if ended:
        body.append(flex.separator())
        body += [flex.note(t("Your visit at %(center)s has ended.", center=other))
                 for other in ended]
    body.append(flex.separator())
    body.append(flex.note(t("If this was not you, please tell the center.") if by_staff
                          else t("Scan the same QR code again when you leave.")))
    title = t("Checked in by the staff") if by_staff else t("Checked in")
    return flex.message(alt_text, flex.bubble(title, body, accent="ok"))


def checked_out(t: Translate, *, center: str, time: str, stay: str, names: str,
                alt_text: str, by_staff: bool = False) -> dict[str, Any]:
    """Say where, when and how long the family stayed."""
    body = [flex.row(t("Center"), center, strong=True), flex.row(t("Time"), time),
            flex.row(t("Stay"), stay)]
    if names:
        body.append(flex.row(t("Children"), names))
    body.append(flex.separator())
    body.append(flex.note(t("If this was not you, please tell the center.") if by_staff
                          else t("Thank you for coming!")))
    title = t("Checked out by the staff") if by_staff else t("Checked out")
    return flex.message(alt_text, flex.bubble(title, body, accent="info"))
