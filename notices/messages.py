"""The Flex message a notice becomes, per language, and the staff preview drawn from that same dict.

`flex(...)` is what the outbox sends; `preview_parts(...)` reads the dict `flex` returned (never
the notice), so the preview shows exactly what LINE gets.
"""

from __future__ import annotations

from typing import Any

from cityhall.i18n import translate

ALT_TEXT_LIMIT = 400  # LINE's altText limit
TEXT_LIMIT = 2000  # what one notice body may hold; a Flex bubble stays far below LINE's 30 KB
DEFAULT_LANGUAGE = "ja"


def language_for(resident_language: str | None, bodies: dict[str, str]) -> str:
    """Return the language a resident reads this notice in: theirs when it has one, else Japanese."""
    return resident_language if resident_language in bodies else DEFAULT_LANGUAGE


def title_for(title: str, titles: dict[str, str] | None, language: str) -> str:
    """Return the title in `language` when staff wrote one, else the Japanese title."""
    return (titles or {}).get(language) or title


def falls_back(resident_language: str | None, bodies: dict[str, str]) -> bool:
    """Tell whether a reader of this language gets the Japanese text because theirs is missing."""
    return (resident_language or DEFAULT_LANGUAGE) != DEFAULT_LANGUAGE and \
        language_for(resident_language, bodies) == DEFAULT_LANGUAGE


def flex(title: str, body: str, language: str, *, image_url: str | None = None,
         link_url: str | None = None, link_label: str | None = None,
         urgent: bool = False) -> dict[str, Any]:
    """Build the notice's Flex message in one language."""
    heading: list[dict[str, Any]] = []
    if urgent:
        heading.append({"type": "text", "text": translate(language, "Urgent"), "size": "xs",
                        "color": "#C0392B", "weight": "bold"})
    heading += [
        {"type": "text", "text": title, "weight": "bold", "size": "lg", "wrap": True},
        {"type": "text", "text": body, "size": "sm", "wrap": True, "margin": "md"},
    ]
    bubble: dict[str, Any] = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": heading},
    }
    if image_url:
        bubble["hero"] = {"type": "image", "url": image_url, "size": "full",
                          "aspectMode": "cover", "aspectRatio": "20:13"}
    if link_url:
        label = (link_label or translate(language, "Details"))[:40]
        bubble["footer"] = {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "style": "primary", "height": "sm",
             "action": {"type": "uri", "label": label, "uri": link_url}}]}
    label = translate(language, "Notice")
    alt = f"{label}: {title}"[:ALT_TEXT_LIMIT]
    return {"type": "flex", "altText": alt, "contents": bubble}


def preview_parts(message: dict[str, Any]) -> dict[str, Any]:
    """Read a Flex message built by `flex` into what the preview template draws."""
    bubble = message["contents"]
    texts = bubble["body"]["contents"]
    button = None
    if "footer" in bubble:
        action = bubble["footer"]["contents"][0]["action"]
        button = {"label": action["label"], "uri": action["uri"]}
    return {
        "alt": message["altText"],
        "image": bubble.get("hero", {}).get("url"),
        "texts": [{"text": part["text"], "bold": part.get("weight") == "bold", "size": part.get("size", "md"),
                   "color": part.get("color")} for part in texts],
        "button": button,
    }
