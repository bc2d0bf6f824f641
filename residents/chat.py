"""The residents feature in the chat: rich-menu taps, registration, My data, invite codes, Apply.

Importing this module registers its commands, postback actions and menu items with the bot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import current_app

from bot import messages
from bot.context import EventContext
from bot.flows import engine
from bot.flows.registry import forms
from bot.handlers.message import command, pattern
from bot.handlers.postback import action
from cityhall.i18n import RESIDENT_LANGUAGES
from residents import services, surveys
from residents.flows import already_answered

MenuHandler = Callable[[EventContext], None]
MENU: dict[str, MenuHandler] = {}
# The rich menu's areas, in order: (item, Japanese label, English label).
MENU_AREAS = [("register", "登録", "Register"), ("checkin", "チェックイン", "Check in"),
              ("apply", "申し込み", "Apply"), ("events", "イベント", "Events"),
              ("report", "通報", "Report"), ("mydata", "マイデータ", "My data")]


def menu_item(name: str) -> Callable[[MenuHandler], MenuHandler]:
    """Register what a rich-menu area does; a later feature replaces "coming soon" this way."""
    def register(fn: MenuHandler) -> MenuHandler:
        MENU[name] = fn
        return fn
    return register


def item(label: str, data: str) -> dict[str, Any]:
    return messages.postback_item(label, data, display_text=label)


@action("menu")
def menu_tap(ctx: EventContext, params: dict[str, str]) -> None:
    """Answer a rich-menu tap: the feature's handler, or "coming soon" (never silence)."""
    handler = MENU.get(params.get("item", ""))
    if handler is None:
        labels = {key: (ja, en) for key, ja, en in MENU_AREAS}
        ja, en = labels.get(params.get("item", ""), ("", ""))
        name = en if ctx.language == "en" else ja
        ctx.reply(messages.text(ctx.t("\"%(name)s\" is coming soon. Thank you for waiting!",
                                      name=name)))
        return
    handler(ctx)


def registration_offer(ctx: EventContext) -> list[dict[str, Any]] | None:
    """Quick replies offering registration to a resident who has not registered."""
    if services.guardian_of(ctx.session, ctx.resident()) is not None:
        return None
    return [item(ctx.t("Register"), "action=menu&item=register")]


# Registration


@menu_item("register")
@command("register", "登録", "とうろく")
def register(ctx: EventContext, _text: str = "") -> None:
    """Start registration, or show My data to someone already registered."""
    if services.guardian_of(ctx.session, ctx.resident()) is not None:
        ctx.reply(messages.text(ctx.t("You are already registered."),
                                quick_replies=[item(ctx.t("My data"), "action=menu&item=mydata")]))
        return
    engine.start(ctx, "registration")


@command("cancel", "キャンセル", "やめる", "中止", interrupts=False)
def cancel(ctx: EventContext, _text: str) -> None:
    """Cancel the running form, wherever it is."""
    engine.cancel(ctx)


INVITE_PATTERN = re.compile(r"^[A-Za-z2-9]{4}-?[A-Za-z2-9]{4}$")


@pattern(INVITE_PATTERN)
def invite_code(ctx: EventContext, text: str) -> None:
    """A partner sends the invite code: register them into that household."""
    if services.guardian_of(ctx.session, ctx.resident()) is not None:
        ctx.reply(messages.text(ctx.t("You are already registered.")))
        return
    code = services.normalize_code(text)
    if services.usable_invite(ctx.session, code, ctx.now) is None:
        ctx.reply(messages.text(ctx.t("Sorry, that invite code has expired or was already used. "
                                      "Please ask your partner for a new one.")))
        return
    ctx.reply(messages.text(ctx.t("Invite code accepted. Please register your own contact "
                                  "details; the children are shared with your partner.")))
    engine.start(ctx, "registration", {"invite": code, "skip": ["children"]})


# Apply


@menu_item("apply")
@command("apply", "申し込み", "申込", "もうしこみ")
def apply(ctx: EventContext, _text: str = "") -> None:
    """List the forms a resident can send."""
    lang = ctx.language
    items = [item(f.title.get(lang) or f.title["ja"], f"action=apply&form={f.id}")
             for f in forms().menu_forms()][:messages.QUICK_REPLY_LIMIT]
    ctx.reply(messages.text(ctx.t("Which application would you like to make?"),
                            quick_replies=items or None))


@action("apply")
def apply_form(ctx: EventContext, params: dict[str, str]) -> None:
    """Start the chosen application form."""
    form = forms().get(params.get("form", ""))
    if form is None or not form.menu:
        ctx.reply(messages.text(ctx.t("Sorry, that form is no longer available.")))
        return
    if form.anonymous and surveys.has_answered(
            ctx.session, surveys.ballot_key(current_app.config), ctx.resident(), form,
            ctx.city.today(ctx.now)):
        ctx.reply(already_answered(ctx, form))
        return
    engine.start(ctx, form.id)


# My data


def guardian_lines(ctx: EventContext, guardian) -> list[str]:
    """The guardian's own data, one line per item."""
    district = services.district_name(ctx.session, guardian.district_code, ctx.language)
    return [
        ctx.t("Name: %(value)s", value=guardian.name),
        ctx.t("Kana: %(value)s", value=guardian.kana),
        ctx.t("Phone: %(value)s", value=guardian.phone),
        ctx.t("Address: %(value)s", value=f"〒{guardian.postal_code} {guardian.address}"),
        ctx.t("District: %(value)s", value=district),
        ctx.t("Language: %(value)s", value=RESIDENT_LANGUAGES.get(ctx.language, ctx.language)),
    ]


def child_lines(ctx: EventContext, household) -> list[str]:
    """The shared children, one line each."""
    lines = [ctx.t("Children:")]
    for n, child in enumerate(household.children, start=1):
        extra = f" / {child.notes}" if child.notes else ""
        lines.append(f" {n}. {child.name}（{child.kana}） {child.birth_date.isoformat()}{extra}")
    return lines


@menu_item("mydata")
@command("my data", "mydata", "マイデータ")
def my_data(ctx: EventContext, _text: str = "") -> None:
    """Show what the city holds about the resident, with what they can do about it."""
    guardian = services.guardian_of(ctx.session, ctx.resident())
    if guardian is None:
        ctx.reply(messages.text(ctx.t("You have not registered yet."),
                                quick_replies=registration_offer(ctx)))
        return
    partners = services.partners(ctx.session, guardian)
    lines = [ctx.t("[My data]"), *guardian_lines(ctx, guardian),
             *child_lines(ctx, guardian.household)]
    if partners:
        lines.append(ctx.t("Partners: %(names)s (their contact details are private to them)",
                           names="、".join(p.name for p in partners)))
    buttons = [item(ctx.t("Change"), "action=mydata&op=edit"),
               item(ctx.t("Add a child"), "action=mydata&op=add_child"),
               item(ctx.t("Invite partner"), "action=mydata&op=invite"),
               item(ctx.t("Delete"), "action=mydata&op=delete")]
    if partners:
        buttons.insert(3, item(ctx.t("Partners"), "action=mydata&op=partners"))
    ctx.reply(messages.text("\n".join(lines), quick_replies=buttons))


@action("mydata")
def my_data_action(ctx: EventContext, params: dict[str, str]) -> None:
    """Run one My data operation."""
    guardian = services.guardian_of(ctx.session, ctx.resident())
    if guardian is None:
        ctx.reply(messages.text(ctx.t("You have not registered yet."),
                                quick_replies=registration_offer(ctx)))
        return
    op = MY_DATA_OPS.get(params.get("op", ""))
    if op is None:
        my_data(ctx)
        return
    op(ctx, guardian, params.get("v", ""))


def edit_menu(ctx: EventContext, guardian, _value: str) -> None:
    """Ask which item to change: one of the guardian's, or a child."""
    registration = forms().get("registration")
    items = [item(f.label.get(ctx.language) or f.label["ja"], f"action=mydata&op=field&v={f.id}")
             for f in registration.fields if f.id not in ("consent", "children")]
    items += [item(c.name, f"action=mydata&op=child&v={c.id}")
              for c in guardian.household.children][:messages.QUICK_REPLY_LIMIT - len(items)]
    ctx.reply(messages.text(ctx.t("Which item do you want to change?"), quick_replies=items))


def edit_field(ctx: EventContext, guardian, field_id: str) -> None:
    """Ask one of the guardian's items again, validated as in registration."""
    if forms().get("registration").field(field_id) is None:
        edit_menu(ctx, guardian, "")
        return
    engine.start(ctx, "registration", {"only": [field_id]})


def child_menu(ctx: EventContext, guardian, child_id: str) -> None:
    """Ask which item of a child to change."""
    child = services.household_child(ctx.session, ctx.resident(), int(child_id or 0))
    if child is None:
        edit_menu(ctx, guardian, "")
        return
    items = [item(f.label.get(ctx.language) or f.label["ja"],
                  f"action=mydata&op=child_field&v={child.id}:{f.id}")
             for f in forms().get("child").fields]
    ctx.reply(messages.text(ctx.t("Which item of %(name)s do you want to change?",
                                  name=child.name), quick_replies=items))


def child_field(ctx: EventContext, guardian, value: str) -> None:
    """Ask one item of a child again."""
    child_id, _, field_id = value.partition(":")
    child = services.household_child(ctx.session, ctx.resident(),
                                     int(child_id) if child_id.isdigit() else 0)
    if child is None or forms().get("child").field(field_id) is None:
        edit_menu(ctx, guardian, "")
        return
    engine.start(ctx, "child", {"only": [field_id], "child_id": child.id})


def add_child(ctx: EventContext, guardian, _value: str) -> None:
    engine.start(ctx, "child")


def invite(ctx: EventContext, guardian, _value: str) -> None:
    """Give a one-time code for a partner to join the household."""
    code = services.create_invite(ctx.session, guardian, ctx.now)
    days = services.INVITE_VALID_FOR.days
    ctx.reply(messages.text(ctx.t("Give this code to your partner. They add this account as a "
                                  "friend and send the code within %(days)s days. It works "
                                  "once.", days=days)),
              messages.text(services.format_code(code.code)))


def partner_list(ctx: EventContext, guardian, _value: str) -> None:
    """List the household's partners, with a button to remove each one who joined later."""
    partners = services.partners(ctx.session, guardian)
    if not partners:
        ctx.reply(messages.text(ctx.t("Nobody else shares your household. To share the "
                                      "children with a partner, tap \"Invite partner\"."),
                                quick_replies=[item(ctx.t("Invite partner"),
                                                    "action=mydata&op=invite")]))
        return
    zone = ctx.city.zone
    lines = [ctx.t("[Partners]")] + [
        ctx.t("%(n)s. %(name)s (joined %(time)s)", n=n, name=p.name,
              time=p.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"))
        for n, p in enumerate(partners, start=1)]
    removable = [p for p in partners if services.may_remove(guardian, p)]
    if removable:
        lines.append(ctx.t("You can remove a partner who joined after you: they lose access to "
                           "the children at once."))
    buttons = [item(ctx.t("Remove %(name)s", name=p.name), f"action=mydata&op=unshare&v={p.id}")
               for p in removable][:messages.QUICK_REPLY_LIMIT]
    ctx.reply(messages.text("\n".join(lines), quick_replies=buttons or None))


def partner_id(value: str) -> int:
    """Read a partner id from a button; anything else is 0, which matches nobody."""
    return int(value) if value.isdigit() and len(value) < 12 else 0


def not_removable(ctx: EventContext) -> None:
    """Answer a forged or stale removal: nothing changes, and no name is shown."""
    ctx.reply(messages.text(ctx.t("That person is not a partner you can remove (they may have "
                                  "been removed already). Nothing was changed."),
                            quick_replies=[item(ctx.t("Partners"), "action=mydata&op=partners")]))


def unshare_ask(ctx: EventContext, guardian, value: str) -> None:
    """Ask before removing a partner from the household."""
    partner = services.removable_partner(ctx.session, guardian, partner_id(value))
    if partner is None:
        not_removable(ctx)
        return
    ctx.reply(messages.text(
        ctx.t("Remove %(name)s from your household? They will no longer see the children. "
              "Their own registration stays.", name=partner.name),
        quick_replies=[item(ctx.t("Remove"), f"action=mydata&op=unshare_yes&v={partner.id}"),
                       item(ctx.t("Don't remove"), "action=mydata&op=unshare_keep")]))


def unshare_yes(ctx: EventContext, guardian, value: str) -> None:
    """Remove the partner; they are told by push."""
    partner = services.remove_partner(ctx.session, guardian, partner_id(value), ctx.now)
    if partner is None:
        not_removable(ctx)
        return
    ctx.reply(messages.text(ctx.t("%(name)s was removed from your household and can no longer "
                                  "see the children. They were told. Unused invite codes were "
                                  "cancelled.", name=partner.name)))


def unshare_keep(ctx: EventContext, guardian, _value: str) -> None:
    ctx.reply(messages.text(ctx.t("Nothing was changed.")))


def delete_ask(ctx: EventContext, guardian, _value: str) -> None:
    """Ask before deleting the registration."""
    ctx.reply(messages.text(
        ctx.t("Delete your registration? Your personal data will be removed. Anonymous "
              "statistics are kept."),
        quick_replies=[item(ctx.t("Delete"), "action=mydata&op=delete_yes"),
                       item(ctx.t("Keep"), "action=mydata&op=keep")]))


def delete_yes(ctx: EventContext, guardian, _value: str) -> None:
    """Delete the registration."""
    services.delete_registration(ctx.session, ctx.resident())
    ctx.reply(messages.text(ctx.t("Your registration has been deleted. You can register again "
                                  "at any time.")))


def keep(ctx: EventContext, guardian, _value: str) -> None:
    ctx.reply(messages.text(ctx.t("Nothing was deleted.")))


MY_DATA_OPS = {"edit": edit_menu, "field": edit_field, "child": child_menu,
               "child_field": child_field, "add_child": add_child, "invite": invite,
               "delete": delete_ask, "delete_yes": delete_yes, "keep": keep,
               "partners": partner_list, "unshare": unshare_ask, "unshare_yes": unshare_yes,
               "unshare_keep": unshare_keep}
