"""Message events: global commands first, then the active form, then patterns, then help.

The commands and patterns come from the loaded features' routers (bot.router), the bot's
own router first.
"""

from __future__ import annotations

from typing import Any

from bot.chat import help_text
from bot.context import EventContext
from bot.dispatch import on
from bot.flows import engine
from bot.flows.fields import Input
from bot.router import TextHandler, normalize_word


def routes():
    """Return the root dispatcher's tables for the current app."""
    from cityhall.features import current

    return current().routes


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


def run_pattern(ctx: EventContext, body: str, before_form: bool) -> bool:
    """Run the first pattern of this kind the text matches; False when none does."""
    found = routes().match_pattern(body, before_form)
    if found is None:
        return False
    run_command(ctx, found.handler, body, found.interrupts)
    return True


@on("message")
def handle(ctx: EventContext) -> None:
    """Route a message: commands, early patterns, the running form, patterns, then help."""
    ctx.resident()
    inp = to_input(ctx.raw.get("message") or {})
    body = inp.text.strip()
    found = routes().commands.get(normalize_word(body)) if inp.kind == "text" else None
    if found is not None:
        run_command(ctx, found.handler, body, found.interrupts)
        return
    if inp.kind == "text" and run_pattern(ctx, body, before_form=True):
        return
    if engine.handle_message(ctx, inp):
        return
    if any(conv.handler(ctx, inp) for conv in routes().conversations.values()):
        return
    if inp.kind == "text" and run_pattern(ctx, body, before_form=False):
        return
    ctx.reply(help_text(ctx))
    engine.offer_resume(ctx)
