"""Postback: unpack the typed data (bot.postback) and call the action its prefix names.

Forged, stale, truncated or unknown data is answered with "that button is no longer valid";
it never reaches a handler and never raises.
"""

from __future__ import annotations

import logging

from bot import messages
from bot.chat import INVALID_BUTTON
from bot.context import EventContext
from bot.dispatch import on
from bot.flows import engine
from bot.postback import InvalidPostback, prefix_of

log = logging.getLogger(__name__)


def invalid(ctx: EventContext, data: str, why: str) -> None:
    """Answer a button the bot cannot honour."""
    log.info("postback refused (%s): %r from %s", why, data[:300], ctx.user_id)
    ctx.reply(messages.text(ctx.t(INVALID_BUTTON)))


@on("postback")
def handle(ctx: EventContext) -> None:
    """Call the action the data's prefix names with the unpacked data.

    An action that interrupts (all but the form engine's own buttons) pauses a running form
    and offers to resume it afterwards.
    """
    from cityhall.features import current

    data = ctx.event.postback.data or ""
    found = current().routes.actions.get(prefix_of(data))
    if found is None:
        invalid(ctx, data, "unknown action")
        return
    try:
        params = found.data.unpack(data)
    except InvalidPostback as err:
        invalid(ctx, data, str(err))
        return
    if found.interrupts:
        engine.interrupt(ctx)
    found.handler(ctx, params)
    if found.interrupts:
        engine.offer_resume(ctx)
