"""The residents feature's Flex cards: My data, an application's receipt and its status.

`t` translates into the reader's language (a resident's `ctx.t`, or `translate` bound to a
language for a push). Each card's alternative text says the essentials without the card, and
leaves out contact details: it shows in notifications and the chat list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import flex
from bot.postback import PostbackData

Translate = Callable[..., str]


@dataclass(frozen=True)
class ChildLine:
    name: str
    kana: str
    birth_date: str
    notes: str | None


def my_data(t: Translate, *, guardian_rows: list[tuple[str, str]], children: list[ChildLine],
            partners: list[str], buttons: list[tuple[str, PostbackData]],
            name: str) -> dict[str, Any]:
    """Show what the city holds about the resident, with buttons to change it."""
    body: list[dict[str, Any]] = [flex.heading(t("Guardian"))]
    body += [flex.row(label, value) for label, value in guardian_rows]
    body += [flex.separator(), flex.heading(t("Children"))]
    if not children:
        body.append(flex.note(t("No children are registered yet.")))
    for child in children:
        body.append(flex.text(f"{child.name}（{child.kana}）", weight="bold"))
        body.append(flex.row(t("Birth date"), child.birth_date))
        if child.notes:
            body.append(flex.row(t("Notes"), child.notes))
    if partners:
        body += [flex.separator(), flex.row(t("Partners"), "、".join(partners)),
                 flex.note(t("Their contact details are private to them."))]
    footer = [flex.button(label, data, style="primary" if i == 0 else "link")
              for i, (label, data) in enumerate(buttons)]
    alt_lines = [t("[My data]"), t("Guardian: %(name)s", name=name),
                 t("Children: %(names)s", names="、".join(c.name for c in children) or "—")]
    if partners:
        alt_lines.append(t("Partners: %(names)s", names="、".join(partners)))
    alt_lines.append(t("Open this message to see and change your data."))
    return flex.message("\n".join(alt_lines),
                        flex.bubble(t("My data"), body, footer=footer, accent="plain"))


def receipt(t: Translate, *, title: str, receipt_no: str, sent_at: str,
            alt_text: str) -> dict[str, Any]:
    """Confirm a sent application with its receipt number."""
    body = [flex.row(t("Application"), title), flex.row(t("Receipt no."), receipt_no, strong=True),
            flex.row(t("Sent"), sent_at), flex.separator(),
            flex.note(t("We will tell you here when its status changes. Please keep the "
                        "receipt number for questions."))]
    return flex.message(alt_text, flex.bubble(t("Your application was received"), body,
                                              accent="ok"))


STATUS_ACCENTS = {"received": "info", "in_review": "info", "approved": "ok", "returned": "warn",
                  "done": "ok"}


def status(t: Translate, *, title: str, receipt_no: str, status_value: str, status_label: str,
           comment: str | None, alt_text: str) -> dict[str, Any]:
    """Tell the resident their application's new status (and the city's message)."""
    body = [flex.row(t("Application"), title), flex.row(t("Receipt no."), receipt_no),
            flex.row(t("Current status"), status_label, strong=True)]
    if comment:
        body += [flex.separator(), flex.heading(t("Message from the city")), flex.text(comment)]
    return flex.message(alt_text, flex.bubble(t("Application status"), body,
                                              accent=STATUS_ACCENTS.get(status_value, "info")))
