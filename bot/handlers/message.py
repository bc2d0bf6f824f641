"""Message events: global commands first, then the active form, then patterns, then help."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot import messages
from bot.context import EventContext
from bot.dispatch import on
from bot.flows import engine
from bot.flows.fields import Input
from bot.handlers.follow import language_choice

TextHandler = Callable[[EventContext, str], None]
_commands: dict[str, tuple[TextHandler, bool]] = {}
_patterns: list[tuple[re.Pattern[str], TextHandler, bool, bool]] = []


def command(*words: str, interrupts: bool = True) -> Callable[[TextHandler], TextHandler]:
    """Register a text command under each of its words (any language).

    A command that `interrupts` pauses the resident's running form and offers to resume it
    afterwards; "cancel" acts on the form itself, so it does not.
    """
    def register(fn: TextHandler) -> TextHandler:
        for word in words:
            _commands[word.strip().lower()] = (fn, interrupts)
        return fn
    return register


def pattern(regex: re.Pattern[str], before_form: bool = False,
            interrupts: bool = True) -> Callable[[TextHandler], TextHandler]:
    """Register a handler for text of a shape (an invite code), tried when no form is running.

    A pattern `before_form` (a scanned check-in code) is tried before the running form; one
    that does not `interrupts` decides itself whether to pause the form and offer it again.
    """
    def register(fn: TextHandler) -> TextHandler:
        _patterns.append((regex, fn, before_form, interrupts))
        return fn
    return register


def run_pattern(ctx: EventContext, body: str, before_form: bool) -> bool:
    """Run the first pattern of this kind the text matches; False when none does."""
    for regex, handler, early, interrupts in _patterns:
        if early == before_form and regex.match(body):
            run_command(ctx, handler, body, interrupts)
            return True
    return False


def help_text(ctx: EventContext) -> dict:
    """Build the answer to a message the bot does not understand."""
    return messages.text(ctx.t("Please use the menu below. To change the language, send "
                               "\"language\"."))


@command("language", "言語", "げんご")
def change_language(ctx: EventContext, _text: str) -> None:
    """Offer the language choice again."""
    ctx.reply(language_choice(ctx))


def to_input(message: dict[str, Any]) -> Input:
    """Turn a LINE message into what the form engine reads."""
    kind = message.get("type")
    if kind == "text":
        return Input("text", text=message.get("text") or "")
    if kind == "image":
        return Input("image", message_id=message.get("id"))
    if kind == "location":
        return Input("location", location={k: message.get(k) for k in
                                           ("latitude", "longitude", "address", "title")})
    return Input(str(kind))


def run_command(ctx: EventContext, handler: TextHandler, body: str, interrupts: bool) -> None:
    """Run a command; a form it interrupts waits, and is offered again afterwards."""
    if interrupts:
        engine.interrupt(ctx)
    handler(ctx, body)
    if interrupts:
        engine.offer_resume(ctx)


@on("message")
def handle(ctx: EventContext) -> None:
    """Route a message: commands, early patterns, the running form, patterns, then help."""
    ctx.resident()
    inp = to_input(ctx.raw.get("message") or {})
    body = inp.text.strip()
    found = _commands.get(body.lower()) if inp.kind == "text" else None
    if found is not None:
        run_command(ctx, found[0], body, found[1])
        return
    if inp.kind == "text" and run_pattern(ctx, body, before_form=True):
        return
    if engine.handle_message(ctx, inp):
        return
    if inp.kind == "text" and run_pattern(ctx, body, before_form=False):
        return
    ctx.reply(help_text(ctx))
    engine.offer_resume(ctx)
