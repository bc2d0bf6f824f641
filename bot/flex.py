"""Builders for LINE Flex messages: a card with a title, key/value rows, notes and buttons.

Every card the bot sends is built from these few parts, so they look alike and stay inside
LINE's limits (checked again by the emulator, see emulator/validation.py):

    flex.message(alt_text, flex.bubble(title, [flex.row("Center", name), ...],
                                       footer=[flex.button("Check out", CheckOut(7))]))

The alternative text is what notifications, the chat list and screen readers show instead of
the card; it must say the essentials on its own (at most 400 characters).
"""

from __future__ import annotations

import json
from typing import Any

from bot.postback import PostbackData

ALT_TEXT_LIMIT = 400
LABEL_LIMIT = 20
BUBBLE_LIMIT = 30 * 1024  # bytes of compact UTF-8 JSON
EMPTY = "—"  # a Flex text must not be empty: an unanswered item shows a dash

# The city's colours: green for done, blue for information, red for a problem.
ACCENTS = {"ok": "#06803b", "info": "#1f5fbf", "warn": "#b3261e", "plain": "#27324a"}
MUTED = "#5b6472"  # 6:1 on white: still readable in small print

Component = dict[str, Any]


def shorten(value: str, limit: int) -> str:
    """Cut a text to the limit, marking the cut with an ellipsis."""
    return value if len(value) <= limit else value[:limit - 1] + "…"


def text(body: str, *, size: str = "sm", weight: str | None = None, color: str | None = None,
         flex: int | None = None, wrap: bool = True) -> Component:
    """Build a text component; an empty text shows a dash."""
    component: Component = {"type": "text", "text": body or EMPTY, "size": size, "wrap": wrap}
    for key, value in (("weight", weight), ("color", color), ("flex", flex)):
        if value is not None:
            component[key] = value
    return component


def row(label: str, value: str, *, strong: bool = False) -> Component:
    """Build one "label: value" line, the label muted on the left."""
    return {"type": "box", "layout": "horizontal", "spacing": "md", "contents": [
        text(label, color=MUTED, flex=2),
        text(value, flex=5, weight="bold" if strong else None)]}


def heading(title: str) -> Component:
    """Build a section heading inside a card's body."""
    return text(title, size="md", weight="bold")


def note(body: str) -> Component:
    """Build a small muted remark (what to do next, a hint)."""
    return text(body, size="xs", color=MUTED)


def separator() -> Component:
    return {"type": "separator", "margin": "md"}


def postback_action(label: str, data: PostbackData,
                    display_text: str | None = None) -> dict[str, Any]:
    """Build a postback action of typed data (bot.postback), its label cut to LINE's 20."""
    action: dict[str, Any] = {"type": "postback", "label": shorten(label, LABEL_LIMIT),
                              "data": data.pack()}
    if display_text:
        action["displayText"] = display_text
    return action


def button(label: str, data: PostbackData, *, style: str = "link",
           display_text: str | None = None) -> Component:
    """Build a button that sends typed postback data and shows its label as the resident's."""
    return {"type": "button", "style": style, "height": "sm",
            "action": postback_action(label, data, display_text or label)}


def edit_row(label: str, value: str, button_label: str, data: PostbackData) -> Component:
    """Build a "label / value" line with a small button beside it (e.g. "change this")."""
    return {"type": "box", "layout": "horizontal", "spacing": "sm", "contents": [
        {"type": "box", "layout": "vertical", "flex": 5, "contents": [
            text(label, size="xs", color=MUTED), text(value)]},
        {"type": "button", "style": "secondary", "height": "sm", "flex": 2, "gravity": "center",
         "action": postback_action(button_label, data, f"{button_label}: {label}")}]}


def bubble(title: str, body: list[Component], *, footer: list[Component] | None = None,
           accent: str = "plain", subtitle: str | None = None) -> Component:
    """Build a card: a coloured header with the title, the body, and buttons at the foot."""
    header = [text(title, size="lg", weight="bold", color="#ffffff")]
    if subtitle:
        header.append(text(subtitle, size="xs", color="#ffffff"))
    card: Component = {
        "type": "bubble",
        "header": {"type": "box", "layout": "vertical", "contents": header,
                   "backgroundColor": ACCENTS[accent], "paddingAll": "lg"},
        "body": {"type": "box", "layout": "vertical", "spacing": "sm",
                 "contents": body or [text(EMPTY)]},
    }
    if footer:
        card["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm",
                          "contents": footer}
    return card


def fits(contents: Component) -> bool:
    """Tell whether a bubble is within LINE's 30 KB (a summary of a very long form may not be)."""
    return len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode()) \
        <= BUBBLE_LIMIT


def message(alt_text: str, contents: Component,
            quick_replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Wrap a bubble or carousel as a Flex message with its alternative text."""
    result: dict[str, Any] = {"type": "flex", "altText": shorten(alt_text.strip(), ALT_TEXT_LIMIT),
                              "contents": contents}
    if quick_replies:
        result["quickReply"] = {"items": quick_replies}
    return result


# Reading a card back (tests, the outbox's logs)


def texts(component: Any) -> list[str]:
    """Return every text a card shows, in order (buttons' labels excluded)."""
    if isinstance(component, dict):
        if component.get("type") == "text":
            spans = component.get("contents")
            return ["".join(s.get("text", "") for s in spans)] if spans else [component["text"]]
        if component.get("type") == "flex":
            return texts(component.get("contents"))
        found: list[str] = []
        for key in ("header", "hero", "body", "footer", "contents"):
            found += texts(component.get(key))
        return found
    if isinstance(component, list):
        return [t for item in component for t in texts(item)]
    return []


def actions(component: Any) -> list[dict[str, Any]]:
    """Return every action of a card (buttons and tappable parts), in order."""
    if isinstance(component, list):
        return [a for item in component for a in actions(item)]
    if not isinstance(component, dict):
        return []
    found = [component["action"]] if isinstance(component.get("action"), dict) else []
    for key in ("header", "hero", "body", "footer", "contents"):
        found += actions(component.get(key))
    return found
