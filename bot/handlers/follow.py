"""Follow: create or reactivate the resident, greet, offer a language choice."""

from __future__ import annotations

import logging

from bot import messages
from bot.chat import language_choice, link_menu
from bot.context import EventContext
from bot.dispatch import on
from bot.flows.fields import strip_controls
from bot.gateway import LineError, gateway
from cityhall.i18n import normalize_language
from cityhall.languages import DEFAULT_LANGUAGE

log = logging.getLogger(__name__)


@on("follow")
def handle(ctx: EventContext) -> None:
    """Create or reactivate the resident and reply with a greeting and a language choice."""
    resident = ctx.resident()
    resident.blocked = False
    resident.blocked_at = None
    resident.followed_at = ctx.now
    try:
        profile = gateway().get_profile(ctx.user_id)
    except LineError as err:
        # A profile is a nicety: the resident is greeted in Japanese rather than not at all.
        log.warning("profile of %s not fetched: %s", ctx.user_id, err)
    else:
        # LINE lets a user put bidi overrides (and more) in a name: keep none of them.
        resident.display_name = strip_controls(profile.display_name)
        if not resident.language_chosen:
            resident.language = normalize_language(profile.language)
    if resident.language != DEFAULT_LANGUAGE:  # Japanese is every follower's default menu
        link_menu(ctx)
    ctx.reply(messages.text(greeting(ctx, resident.display_name, ctx.event.follow.is_unblocked)),
              language_choice(ctx))


def greeting(ctx: EventContext, name: str | None, returning: bool) -> str:
    """Say welcome, or welcome back after a block, by name when LINE gave one."""
    if returning:
        return (ctx.t("Welcome back, %(name)s! Notices will reach you again.", name=name)
                if name else ctx.t("Welcome back! Notices will reach you again."))
    intro = ctx.t("Register once, then check in at any child-support center, apply, and get "
                  "notices here.")
    hello = (ctx.t("Welcome to Smartphone City Hall, %(name)s!", name=name)
             if name else ctx.t("Welcome to Smartphone City Hall!"))
    return f"{hello}\n{intro}"
