"""The residents feature in the chat: rich-menu taps, registration, My data, invite codes, Apply.

Everything here hangs on `router`, which the feature declaration hands to the bot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import current_app

from bot import messages
from bot.chat import menu_item, registration_offer
from bot.context import EventContext
from bot.flows import engine
from bot.flows.registry import forms
from bot.postback import PostbackData
from bot.router import Router
from cityhall.i18n import format_age, format_day
from cityhall.languages import language_names
from residents import cards, services, surveys
from residents.buttons import (AddChild, ApplyForm, DeleteAsk, DeleteYes, EditChild,
                               EditChildField, EditField, EditMenu, Invite, Keep, PartnerList,
                               Unshare, UnshareKeep, UnshareYes)
from residents.flows import already_answered
from residents.signals import my_data_shown

router = Router("residents")


def item(label: str, data: PostbackData) -> dict[str, Any]:
    return messages.postback_item(label, data, display_text=label)


# Registration


@router.menu("register")
@router.command("register", "登録", "とうろく")
def register(ctx: EventContext, _text: str = "") -> None:
    """Start registration, or show My data to someone already registered."""
    if services.guardian_of(ctx.session, ctx.resident()) is not None:
        ctx.reply(messages.text(ctx.t("You are already registered."),
                                quick_replies=[menu_item(ctx, ctx.t("My data"), "mydata")]))
        return
    engine.start(ctx, "registration")


INVITE_PATTERN = re.compile(r"^[A-Za-z2-9]{4}-?[A-Za-z2-9]{4}$")


@router.pattern("invite-code", INVITE_PATTERN)
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


@router.menu("apply")
@router.command("apply", "申し込み", "申込", "もうしこみ")
def apply(ctx: EventContext, _text: str = "") -> None:
    """List the forms a resident can send."""
    lang = ctx.language
    items = [item(f.title.get(lang) or f.title["ja"], ApplyForm(f.id))
             for f in forms().menu_forms()][:messages.QUICK_REPLY_LIMIT]
    ctx.reply(messages.text(ctx.t("Which application would you like to make?"),
                            quick_replies=items or None))


@router.action(ApplyForm)
def apply_form(ctx: EventContext, data: ApplyForm) -> None:
    """Start the chosen application form."""
    form = forms().get(data.form)
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


def guardian_rows(ctx: EventContext, guardian) -> list[tuple[str, str]]:
    """The guardian's own data, one (label, value) per item."""
    district = services.district_name(ctx.session, guardian.district_code, ctx.language)
    address = "〒" + f"{guardian.postal_code} {guardian.address}"
    return [
        (ctx.t("Name"), guardian.name),
        (ctx.t("Kana"), guardian.kana),
        (ctx.t("Phone"), guardian.phone),
        (ctx.t("Address"), address),
        (ctx.t("District"), district),
        (ctx.t("Language"), language_names().get(ctx.language, ctx.language)),
    ]


def child_lines(ctx: EventContext, household) -> list[cards.ChildLine]:
    """The shared children, in the household's order, each born on a day and of an age."""
    today = ctx.city.today(ctx.now)

    def born(child) -> str:
        # Japanese and English keep the ISO date; every language gets the age in its words.
        day = (child.birth_date.isoformat() if ctx.language in ("ja", "en")
               else format_day(ctx.language, child.birth_date))
        return f"{day} ({format_age(ctx.language, months_between(child.birth_date, today))})"

    return [cards.ChildLine(c.name, c.kana, born(c), c.notes) for c in household.children]


def months_between(birth: date, day: date) -> int:
    """A child's completed months of age on a day."""
    months = (day.year - birth.year) * 12 + day.month - birth.month
    return max(0, months - (1 if day.day < birth.day else 0))


@router.menu("mydata")
@router.command("my data", "mydata", "マイデータ")
def my_data(ctx: EventContext, _text: str = "") -> None:
    """Show what the city holds about the resident on a card, with what they can do about it."""
    guardian = services.guardian_of(ctx.session, ctx.resident())
    if guardian is None:
        ctx.reply(messages.text(ctx.t("You have not registered yet."),
                                quick_replies=registration_offer(ctx)))
        return
    partners = services.partners(ctx.session, guardian)
    buttons = [(ctx.t("Change"), EditMenu()), (ctx.t("Add a child"), AddChild()),
               (ctx.t("Invite partner"), Invite()), (ctx.t("Delete"), DeleteAsk())]
    if partners:
        buttons.insert(3, (ctx.t("Partners"), PartnerList()))
    extra: list[str] = []
    for _listener, (more_lines, more_buttons) in my_data_shown.send(
            ctx.resident(), session=ctx.session, guardian=guardian, ctx=ctx):
        extra += more_lines
        buttons[-1:-1] = more_buttons  # before "Delete"
    ctx.reply(cards.my_data(ctx.t, guardian_rows=guardian_rows(ctx, guardian),
                            children=child_lines(ctx, guardian.household),
                            partners=[p.name for p in partners], buttons=buttons,
                            name=guardian.name, extra=extra))


MyDataOp = Callable[[EventContext, Any, Any], None]


def my_data_action(data: type[PostbackData]) -> Callable[[MyDataOp], MyDataOp]:
    """Answer a My data button, for registered residents only."""
    def register(op: MyDataOp) -> MyDataOp:
        def run(ctx: EventContext, tapped: PostbackData) -> None:
            guardian = services.guardian_of(ctx.session, ctx.resident())
            if guardian is None:
                ctx.reply(messages.text(ctx.t("You have not registered yet."),
                                        quick_replies=registration_offer(ctx)))
                return
            op(ctx, guardian, tapped)
        run.__qualname__ = op.__qualname__  # start-up errors name the operation
        router.action(data)(run)
        return op
    return register


@my_data_action(EditMenu)
def edit_menu(ctx: EventContext, guardian, _data: Any = None) -> None:
    """Ask which item to change: one of the guardian's, or a child."""
    registration = forms().get("registration")
    items = [item(f.label.get(ctx.language) or f.label["ja"], EditField(f.id))
             for f in registration.fields if f.id not in ("consent", "children")]
    items += [item(c.name, EditChild(c.id))
              for c in guardian.household.children][:messages.QUICK_REPLY_LIMIT - len(items)]
    ctx.reply(messages.text(ctx.t("Which item do you want to change?"), quick_replies=items))


@my_data_action(EditField)
def edit_field(ctx: EventContext, guardian, data: EditField) -> None:
    """Ask one of the guardian's items again, validated as in registration."""
    if forms().get("registration").field(data.field) is None:
        edit_menu(ctx, guardian)
        return
    engine.start(ctx, "registration", {"only": [data.field]})


@my_data_action(EditChild)
def child_menu(ctx: EventContext, guardian, data: EditChild) -> None:
    """Ask which item of a child to change."""
    child = services.household_child(ctx.session, ctx.resident(), data.child)
    if child is None:
        edit_menu(ctx, guardian)
        return
    items = [item(f.label.get(ctx.language) or f.label["ja"], EditChildField(child.id, f.id))
             for f in forms().get("child").fields]
    ctx.reply(messages.text(ctx.t("Which item of %(name)s do you want to change?",
                                  name=child.name), quick_replies=items))


@my_data_action(EditChildField)
def child_field(ctx: EventContext, guardian, data: EditChildField) -> None:
    """Ask one item of a child again."""
    child = services.household_child(ctx.session, ctx.resident(), data.child)
    if child is None or forms().get("child").field(data.field) is None:
        edit_menu(ctx, guardian)
        return
    engine.start(ctx, "child", {"only": [data.field], "child_id": child.id})


@my_data_action(AddChild)
def add_child(ctx: EventContext, guardian, _data: AddChild) -> None:
    engine.start(ctx, "child")


@my_data_action(Invite)
def invite(ctx: EventContext, guardian, _data: Invite) -> None:
    """Give a one-time code for a partner to join the household."""
    code = services.create_invite(ctx.session, guardian, ctx.now)
    days = services.INVITE_VALID_FOR.days
    ctx.reply(messages.text(ctx.t("Give this code to your partner. They add this account as a "
                                  "friend and send the code within %(days)s days. It works "
                                  "once.", days=days)),
              messages.text(services.format_code(code.code)))


@my_data_action(PartnerList)
def partner_list(ctx: EventContext, guardian, _data: PartnerList | None = None) -> None:
    """List the household's partners, with a button to remove each one who joined later."""
    partners = services.partners(ctx.session, guardian)
    if not partners:
        ctx.reply(messages.text(ctx.t("Nobody else shares your household. To share the "
                                      "children with a partner, tap \"Invite partner\"."),
                                quick_replies=[item(ctx.t("Invite partner"), Invite())]))
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
    buttons = [item(ctx.t("Remove %(name)s", name=p.name), Unshare(str(p.id)))
               for p in removable][:messages.QUICK_REPLY_LIMIT]
    ctx.reply(messages.text("\n".join(lines), quick_replies=buttons or None))


def partner_id(value: str) -> int:
    """Read a partner id from a button; anything else is 0, which matches nobody."""
    return int(value) if value.isdigit() and len(value) < 10 else 0


def not_removable(ctx: EventContext) -> None:
    """Answer a forged or stale removal: nothing changes, and no name is shown."""
    ctx.reply(messages.text(ctx.t("That person is not a partner you can remove (they may have "
                                  "been removed already). Nothing was changed."),
                            quick_replies=[item(ctx.t("Partners"), PartnerList())]))


@my_data_action(Unshare)
def unshare_ask(ctx: EventContext, guardian, data: Unshare) -> None:
    """Ask before removing a partner from the household."""
    partner = services.removable_partner(ctx.session, guardian, partner_id(data.partner))
    if partner is None:
        not_removable(ctx)
        return
    ctx.reply(messages.text(
        ctx.t("Remove %(name)s from your household? They will no longer see the children. "
              "Their own registration stays.", name=partner.name),
        quick_replies=[item(ctx.t("Remove"), UnshareYes(str(partner.id))),
                       item(ctx.t("Don't remove"), UnshareKeep())]))


@my_data_action(UnshareYes)
def unshare_yes(ctx: EventContext, guardian, data: UnshareYes) -> None:
    """Remove the partner; they are told by push."""
    partner = services.remove_partner(ctx.session, guardian, partner_id(data.partner), ctx.now)
    if partner is None:
        not_removable(ctx)
        return
    ctx.reply(messages.text(ctx.t("%(name)s was removed from your household and can no longer "
                                  "see the children. They were told. Unused invite codes were "
                                  "cancelled.", name=partner.name)))


@my_data_action(UnshareKeep)
def unshare_keep(ctx: EventContext, guardian, _data: UnshareKeep) -> None:
    ctx.reply(messages.text(ctx.t("Nothing was changed.")))


@my_data_action(DeleteAsk)
def delete_ask(ctx: EventContext, guardian, _data: DeleteAsk) -> None:
    """Ask before deleting the registration."""
    ctx.reply(messages.text(
        ctx.t("Delete your registration? Your personal data will be removed. Anonymous "
              "statistics are kept."),
        quick_replies=[item(ctx.t("Delete"), DeleteYes()), item(ctx.t("Keep"), Keep())]))


@my_data_action(DeleteYes)
def delete_yes(ctx: EventContext, guardian, _data: DeleteYes) -> None:
    """Delete the registration."""
    services.delete_registration(ctx.session, ctx.resident())
    ctx.reply(messages.text(ctx.t("Your registration has been deleted. You can register again "
                                  "at any time.")))


@my_data_action(Keep)
def keep(ctx: EventContext, guardian, _data: Keep) -> None:
    ctx.reply(messages.text(ctx.t("Nothing was deleted.")))
