"""Message events: text is routed by a table of commands; other kinds get a clear answer."""

from __future__ import annotations

from collections.abc import Callable

from bot import messages
from bot.context import EventContext
from bot.dispatch import on
from bot.handlers.follow import language_choice

TextHandler = Callable[[EventContext, str], None]
_commands: dict[str, TextHandler] = {}


def command(*words: str) -> Callable[[TextHandler], TextHandler]:
    """Register a text command under each of its words (any language)."""
    def register(fn: TextHandler) -> TextHandler:
        for word in words:
            _commands[word.strip().lower()] = fn
        return fn
    return register


def help_text(ctx: EventContext) -> dict:
    """Build the answer to a message the bot does not understand."""
    return messages.text(ctx.t("Please use the menu below. To change the language, send "
                               "\"language\"."))


@command("language", "言語", "げんご")
def change_language(ctx: EventContext, _text: str) -> None:
    """Offer the language choice again."""
    ctx.reply(language_choice(ctx))


@on("message")
def handle(ctx: EventContext) -> None:
    """Route text by the command table; answer anything else with help."""
    ctx.resident()
    message = ctx.raw.get("message") or {}
    if message.get("type") == "text":
        body = (message.get("text") or "").strip()
        handler = _commands.get(body.lower())
        if handler is not None:
            handler(ctx, body)
            return
    ctx.reply(help_text(ctx))
