"""The bot's own router, included before every feature's: global commands and the rich menu.

"cancel", "language" (or 言語, or the word in any resident language) and "help" work from
anywhere. A rich-menu tap goes to the feature that
answers the area; an area no loaded feature answers says "coming soon", never nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import messages, richmenu
from bot.context import EventContext
from bot.flows import engine, hooks
from bot.flows.taps import FormTap
from bot.postback import PostbackData
from bot.richmenu import MenuTap
from bot.router import Router
from cityhall.languages import cancel_words, change_words, language_names

router = Router("bot")


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return message


# The answer to a button whose data is forged, stale, truncated or unknown.
INVALID_BUTTON = N_("Sorry, that button is no longer valid.")


@dataclass(frozen=True)
class ChooseLanguage(PostbackData, prefix="bt.lang"):
    """The resident picked the language the bot speaks to them."""

    code: str


def help_text(ctx: EventContext) -> dict[str, Any]:
    """Build the answer to a message the bot does not understand."""
    return messages.text(ctx.t("Please use the menu below. To change the language, send "
                               "\"language\"."))


def language_choice(ctx: EventContext) -> dict[str, Any]:
    """Build the language question: one quick reply per language, each in its own script
    (at most 13, LINE's limit; the ten default languages fit)."""
    items = [messages.postback_item(name, ChooseLanguage(code), display_text=name)
             for code, name in language_names().items()][:13]
    return messages.text(ctx.t("Please choose your language."), quick_replies=items)


def link_menu(ctx: EventContext, language: str | None = None) -> None:
    """Show the resident the rich menu of their (new) language once the change is committed."""
    from bot.gateway import gateway

    line, user_id, language = gateway(), ctx.user_id, language or ctx.language
    if user_id:
        variant = richmenu.active_variant(ctx.session)  # e.g. the disaster menu
        ctx.after_commit.append(lambda: richmenu.link_for(line, user_id, language, variant))


def menu_item(ctx: EventContext, label: str, area: str) -> dict[str, Any]:
    """Build a quick reply that does what tapping the rich-menu area does."""
    return messages.postback_item(label, MenuTap(area), display_text=label)


def registration_offer(ctx: EventContext) -> list[dict[str, Any]] | None:
    """Offer "Register" to a resident who has not registered, when a feature answers it."""
    from cityhall.features import current

    if "register" not in current().routes.menu:
        return None
    if hooks.is_registered(ctx.session, ctx.resident()):
        return None
    return [menu_item(ctx, ctx.t("Register"), "register")]


@router.command(*cancel_words(), interrupts=False)
def cancel(ctx: EventContext, _text: str) -> None:
    """Cancel the running form, wherever it is (else a feature's own conversation)."""
    from cityhall.features import current

    if engine.active(ctx.session, ctx.resident()) is None and any(
            conv.cancel(ctx) for conv in current().routes.conversations.values()
            if conv.cancel is not None):
        return
    engine.cancel(ctx)


@router.command(*change_words())
def change_language(ctx: EventContext, _text: str) -> None:
    """Offer the language choice again."""
    ctx.reply(language_choice(ctx))


@router.command("help", "ヘルプ", "へるぷ")
def help_command(ctx: EventContext, _text: str) -> None:
    """Say how to use the account."""
    ctx.reply(help_text(ctx))


@router.action(FormTap, interrupts=False)
def form_tap(ctx: EventContext, data: FormTap) -> None:
    """A form's own button: the engine checks its nonce (a paused form's tap resumes it)."""
    picked = (ctx.raw.get("postback") or {}).get("params") or {}
    engine.handle_postback(ctx, data, picked)


@router.action(ChooseLanguage)
def choose_language(ctx: EventContext, data: ChooseLanguage) -> None:
    """Store the chosen language, confirm in it, and offer registration to a newcomer."""
    if data.code not in language_names():
        ctx.reply(messages.text(ctx.t("Sorry, that language is not available yet.")))
        return
    resident = ctx.resident()
    resident.language = data.code
    resident.language_chosen = True
    link_menu(ctx)
    ctx.reply(messages.text(ctx.t("I will talk to you in English from now on."),
                            quick_replies=registration_offer(ctx)))


@router.action(MenuTap)
def menu_tap(ctx: EventContext, data: MenuTap) -> None:
    """Answer a rich-menu tap: the feature's handler, or "coming soon" (never silence)."""
    from cityhall.features import current

    area = current().routes.menu.get(data.area)
    if area is not None:
        area.handler(ctx)
        return
    if data.area not in richmenu.LABELS:
        ctx.reply(messages.text(ctx.t(INVALID_BUTTON)))
        return
    name = richmenu.area_label(data.area, ctx.language)
    ctx.reply(messages.text(ctx.t("\"%(name)s\" is coming soon. Thank you for waiting!",
                                  name=name)))
