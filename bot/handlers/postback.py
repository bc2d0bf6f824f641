"""Postback: route by the `action` key of the postback data (a query string)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qs

from bot import messages
from bot.context import EventContext
from bot.dispatch import on
from bot.flows import engine
from cityhall.i18n import RESIDENT_LANGUAGES

log = logging.getLogger(__name__)

PostbackHandler = Callable[[EventContext, dict[str, str]], None]
_actions: dict[str, PostbackHandler] = {}


def action(name: str) -> Callable[[PostbackHandler], PostbackHandler]:
    """Register the handler for one postback action."""
    def register(fn: PostbackHandler) -> PostbackHandler:
        _actions[name] = fn
        return fn
    return register


def parse_data(data: str) -> dict[str, str]:
    """Parse postback data like "action=lang&value=en" into a flat dict."""
    return {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items()}


@on("postback")
def handle(ctx: EventContext) -> None:
    """Call the action the postback names; answer an unknown one instead of ignoring it.

    A form's own buttons go to the engine; any other action pauses a running form and
    offers to resume it afterwards.
    """
    params = parse_data(ctx.event.postback.data)
    if params.get("action") == "form":
        engine.handle_postback(ctx, params, (ctx.raw.get("postback") or {}).get("params") or {})
        return
    handler = _actions.get(params.get("action", ""))
    if handler is None:
        log.info("unknown postback %r from %s", ctx.event.postback.data, ctx.user_id)
        ctx.reply(messages.text(ctx.t("Sorry, that button is no longer valid.")))
        return
    engine.interrupt(ctx)
    handler(ctx, params)
    engine.offer_resume(ctx)


@action("lang")
def choose_language(ctx: EventContext, params: dict[str, str]) -> None:
    """Store the chosen language, confirm in it, and offer registration to a newcomer."""
    from residents.chat import registration_offer

    code = params.get("value", "")
    if code not in RESIDENT_LANGUAGES:
        ctx.reply(messages.text(ctx.t("Sorry, that language is not available yet.")))
        return
    resident = ctx.resident()
    resident.language = code
    resident.language_chosen = True
    ctx.reply(messages.text(ctx.t("I will talk to you in English from now on."),
                            quick_replies=registration_offer(ctx)))
