"""A resident in the emulator, as a test sees them: send text, tap quick replies, read answers.

Every tap uses the postback data of a button the bot really sent, so a test exercises the
same nonces, labels and picker modes a phone would. It counts messages typed and taps, for
the figures in docs/forms.md.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot import flex
from bot.richmenu import MenuTap
from emulator.client import EmulatorClient


class Resident:
    """One emulator user chatting with the app."""

    def __init__(self, line: EmulatorClient, name: str = "山田花子", language: str = "ja") -> None:
        self.line = line
        self.user_id = line.create_user(display_name=name, language=language)["userId"]
        self.typed = 0
        self.taps = 0
        self.seen = 0

    # Sending

    def follow(self) -> None:
        self.line.follow(self.user_id)

    def say(self, text: str) -> dict[str, Any]:
        """Type and send a text message."""
        self.typed += 1
        return self.line.send_text(self.user_id, text)

    def postback(self, data: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """Send postback data (a rich-menu tap, or an old button kept by the test)."""
        self.taps += 1
        return self.line.send_postback(self.user_id, data, params)

    def menu(self, item: str) -> dict[str, Any]:
        """Tap a rich-menu area."""
        return self.postback(MenuTap(item).pack())

    def tap(self, label: str) -> dict[str, Any]:
        """Tap the quick reply with this label on the last message."""
        action = self.button(label)
        return self.postback(action["data"])

    def pick_date(self, value: date | str) -> dict[str, Any]:
        """Use the date picker on the last message."""
        action = self.picker("date")
        return self.postback(action["data"], {"date": str(value)})

    def pick_time(self, value: str) -> dict[str, Any]:
        """Use the time picker on the last message."""
        action = self.picker("time")
        return self.postback(action["data"], {"time": value})

    def send_image(self, content: bytes) -> dict[str, Any]:
        self.taps += 1
        return self.line.send_image(self.user_id, content)

    def send_location(self, lat: float, lon: float, address: str) -> dict[str, Any]:
        self.taps += 1
        return self.line.send_location(self.user_id, lat, lon, address=address)

    # Reading

    def received(self) -> list[dict[str, Any]]:
        return [r["message"] for r in self.line.received(self.user_id)]

    def texts(self) -> list[str]:
        return self.line.texts(self.user_id)

    def last(self) -> str:
        return self.texts()[-1]

    def new_texts(self) -> list[str]:
        """Return the texts received since the previous call."""
        texts = self.texts()
        fresh, self.seen = texts[self.seen:], len(texts)
        return fresh

    def quick_replies(self) -> list[dict[str, Any]]:
        """Return the actions of the last message: its card's buttons, then its quick replies."""
        last = self.received()[-1]
        return flex.actions(last) + [i["action"] for i in
                                     (last.get("quickReply") or {}).get("items", [])]

    def card(self) -> dict[str, Any]:
        """Return the last message, which must be a Flex card."""
        last = self.received()[-1]
        assert last["type"] == "flex", f"the last message is not a card: {self.last()!r}"
        return last

    def card_text(self) -> str:
        """Return every text the last card shows, one per line (labels and values alike)."""
        return "\n".join(flex.texts(self.card()))

    def card_rows(self) -> dict[str, str]:
        """Return the last card's "label: value" rows as a dict."""
        return card_rows(self.card())

    def labels(self) -> list[str]:
        return [a.get("label", a["type"]) for a in self.quick_replies()]

    def button(self, label: str) -> dict[str, Any]:
        found = [a for a in self.quick_replies() if a.get("label") == label]
        assert found, f"no quick reply {label!r} in {self.labels()} (last: {self.last()!r})"
        return found[0]

    def picker(self, mode: str) -> dict[str, Any]:
        found = [a for a in self.quick_replies()
                 if a["type"] == "datetimepicker" and a["mode"] == mode]
        assert found, f"no {mode} picker in {self.labels()} (last: {self.last()!r})"
        return found[0]


def card_rows(component: Any) -> dict[str, str]:
    """Return the rows (horizontal boxes of two texts) of a Flex card, label to value."""
    rows: dict[str, str] = {}
    if isinstance(component, list):
        for item in component:
            rows.update(card_rows(item))
        return rows
    if not isinstance(component, dict):
        return rows
    parts = component.get("contents")
    if (component.get("type") == "box" and component.get("layout") == "horizontal"
            and isinstance(parts, list) and [p.get("type") for p in parts] == ["text", "text"]):
        return {parts[0]["text"]: parts[1]["text"]}
    if component.get("type") == "box" and isinstance(parts, list) and len(parts) == 2 \
            and parts[1].get("type") == "button" and parts[0].get("type") == "box":
        label, value = flex.texts(parts[0])
        return {label: value}
    for key in ("contents", "header", "hero", "body", "footer"):
        rows.update(card_rows(component.get(key)))
    return rows
