"""The form engine's own buttons: one typed postback naming the form and the prompt's nonce."""

from __future__ import annotations

from dataclasses import dataclass

from bot.postback import PostbackData


@dataclass(frozen=True)
class FormTap(PostbackData, prefix="bt.form"):
    """A tap on a form's button; an old nonce means an earlier message, so nothing changes."""

    form: str
    nonce: int
    op: str
    value: str | None = None
