"""Check-in in the chat: the scanned code's text, the choice of children, the rich-menu item.

Everything hangs on `router`, which the feature declaration hands to the bot; a newcomer's
scan that waited for the registration is finished on residents' `resident_registered`
signal (connected in checkin/feature.py). The rules live in checkin.services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import messages
from bot.context import EventContext
from bot.flows import engine
from bot.postback import PostbackData
from bot.router import Router
from checkin import cards, services
from checkin.services import CheckinRefused, ScanResult
from checkin.signals import checked_in_reply
from cityhall.i18n import format_clock
from models import Center
from models.household import Child
from models.visit import Visit
from residents.services import guardian_of

router = Router("checkin")

# The text a center's QR code makes LINE send: "チェックイン C1.central.p1.…".
SCAN_PATTERN = re.compile(r"^(?:チェックイン|check-?in)\s*[:：]?\s*(\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class ChooseChildren(PostbackData, prefix="ck.in"):
    """Which children came: one child's id, or None for all of them."""

    nonce: str
    child: int | None = None


@dataclass(frozen=True)
class CheckOut(PostbackData, prefix="ck.out"):
    visit: int


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return message


REFUSALS = {
    "invalid": N_("This QR code is not a valid check-in code. Please scan the code at the "
                  "center's entrance again."),
    "expired": N_("This QR code has expired. Please scan the code on the screen at the "
                  "entrance again."),
    "revoked": N_("This QR code is no longer in use. Please scan the current code at the "
                  "entrance."),
    "unknown_center": N_("This center does not accept check-ins. Please ask the staff."),
}


def clock(ctx: EventContext, moment: datetime) -> str:
    """Show a moment as HH:MM in the city's time zone."""
    return format_clock(ctx.language, ctx.city.local(moment))


def stay(ctx: EventContext, length: timedelta) -> str:
    """Show the length of a stay in hours and minutes."""
    hours, minutes = divmod(int(length.total_seconds()) // 60, 60)
    if hours:
        return ctx.t("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return ctx.t("%(minutes)s min", minutes=minutes)


def child_names(ctx: EventContext, visit: Visit) -> str:
    """Name the children of a visit, in the household's order."""
    names = [ctx.session.get(Child, vc.child_id).name for vc in visit.children if vc.child_id]
    return "、".join(names)


@router.pattern("scanned-code", SCAN_PATTERN, before_form=True, interrupts=False)
def scanned(ctx: EventContext, text: str) -> None:
    """A scanned center code: check in or out; a running form waits and is offered afterwards."""
    try:
        center = services.center_for_token(ctx.session, SCAN_PATTERN.match(text).group(1), ctx.now)
    except CheckinRefused as refused:
        ctx.reply(messages.text(ctx.t(REFUSALS[refused.reason])))
        return
    guardian = guardian_of(ctx.session, ctx.resident())
    if guardian is None:
        register_first(ctx, center)
        return
    engine.interrupt(ctx)
    result = services.scan(ctx.session, center, guardian, ctx.now, city=ctx.city)
    ctx.reply(*answer(ctx, result))
    if result.kind != "choose":
        engine.offer_resume(ctx)  # after a choice of children, the tap's answer offers it


def register_first(ctx: EventContext, center: Center) -> None:
    """Take a newcomer through registration; the scan waits and checks in at the end."""
    services.remember_pending(ctx.session, ctx.resident(), center, center.checkin_mode.value, ctx.now)
    ctx.reply(messages.text(ctx.t("To check in, please register first (once, for every center). "
                                  "You will be checked in at %(center)s as soon as you finish.",
                                  center=center.name(ctx.language))))
    engine.start(ctx, "registration")


def answer(ctx: EventContext, result: ScanResult) -> list[dict[str, Any]]:
    """Build the reply to what a scan or a choice did."""
    name = result.center.name(ctx.language)
    if result.kind == "choose":
        return [choice(ctx, result)]
    if result.kind == "in":
        return [checked_in(ctx, result)]
    if result.kind == "out":
        return [checked_out(ctx, result)]
    return [messages.text(other_answer(ctx, result, name))]


def other_answer(ctx: EventContext, result: ScanResult, name: str) -> str:
    """Say why a scan changed nothing."""
    visit = result.visit
    if result.kind == "just_in":
        moment = clock(ctx, visit.checked_in_at) if visit else clock(ctx, ctx.now)
        return ctx.t("You were checked in just now (%(time)s). Nothing was changed.", time=moment)
    if result.kind == "just_out":
        ended = visit.checked_out_at if visit and visit.checked_out_at else ctx.now
        moment = clock(ctx, ended)
        return ctx.t("You were checked out just now (%(time)s). Nothing was changed.", time=moment)
    if result.kind == "no_children":
        return ctx.t("No children are registered yet. Please add a child in \"My data\" first.")
    hours = services.hours_on(result.center, ctx.city.today(ctx.now), city=ctx.city)
    if hours is None:
        closure = services.closure_on(ctx.session, result.center, ctx.city.today(ctx.now))
        if closure is not None:
            return ctx.t("%(center)s is closed today (%(reason)s), so you cannot check in.",
                         center=name, reason=closure.reason)
        return ctx.t("%(center)s is closed today, so you cannot check in.", center=name)
    return ctx.t("%(center)s is closed now, so you cannot check in. Opening hours today: "
                 "%(opens)s–%(closes)s.", center=name, opens=clock(ctx, hours[0]),
                 closes=clock(ctx, hours[1]) if hours[1].hour or hours[1].minute else "24:00")


def checked_in(ctx: EventContext, result: ScanResult) -> dict[str, Any]:
    """Show where, when and who was checked in (and which visit elsewhere ended) on a card."""
    ended = [ctx.session.get(Center, moved.center_id).name(ctx.language)
             for moved in result.moved_from]
    center, time = result.center.name(ctx.language), clock(ctx, result.visit.checked_in_at)
    names = child_names(ctx, result.visit)
    lines = [ctx.t("Your visit at %(center)s has ended.", center=other) for other in ended]
    lines.append(ctx.t("Checked in at %(center)s at %(time)s: %(names)s.",
                       center=center, time=time, names=names))
    # Other features' lines (events: "your attendance is recorded"), on the card and in its text.
    notes = [line for _listener, more in checked_in_reply.send(
        result.visit, session=ctx.session, language=ctx.language) for line in (more or [])]
    lines += notes
    lines.append(ctx.t("Scan the same QR code again when you leave."))
    return cards.checked_in(ctx.t, center=center, time=time, names=names, ended=ended,
                            notes=notes, alt_text="\n".join(lines))


def checked_out(ctx: EventContext, result: ScanResult) -> dict[str, Any]:
    """Show where, when and how long the family stayed on a card."""
    visit = result.visit
    center, time = result.center.name(ctx.language), clock(ctx, visit.checked_out_at)
    length = stay(ctx, visit.checked_out_at - visit.checked_in_at)
    alt_text = ctx.t("Checked out of %(center)s at %(time)s. You stayed %(stay)s. Thank you for "
                     "coming!", center=center, time=time, stay=length)
    return cards.checked_out(ctx.t, center=center, time=time, stay=length,
                             names=child_names(ctx, visit), alt_text=alt_text)


def choice(ctx: EventContext, result: ScanResult) -> dict[str, Any]:
    """Ask which children came, "all children" first: one more tap."""
    nonce = services.remember_pending(ctx.session, ctx.resident(), result.center,
                                      result.center.checkin_mode.value, ctx.now)
    everyone = ctx.t("All children")
    items = [messages.postback_item(everyone, ChooseChildren(nonce), everyone)]
    items += [messages.postback_item(c.name, ChooseChildren(nonce, c.id), c.name)
              for c in result.children][:messages.QUICK_REPLY_LIMIT - 1]
    return messages.text(ctx.t("Who came to %(center)s with you today?",
                               center=result.center.name(ctx.language)), quick_replies=items)


@router.action(ChooseChildren)
def chosen(ctx: EventContext, data: ChooseChildren) -> None:
    """Check in the children tapped; a second tap on the same choice changes nothing."""
    guardian = guardian_of(ctx.session, ctx.resident())
    pending = services.take_pending(ctx.session, ctx.resident(), ctx.now, data.nonce)
    if guardian is None or pending is None:
        ctx.reply(messages.text(ctx.t("That choice was already used or has expired. Please scan "
                                      "the QR code again.")))
        return
    center = ctx.session.get(Center, pending.center_id)
    choice = "all" if data.child is None else str(data.child)
    result = services.check_in_chosen(ctx.session, center, guardian, choice, ctx.now,
                                      pending.method, city=ctx.city)
    ctx.reply(*answer(ctx, result))


def after_registration(_resident, *, ctx: EventContext | None = None,
                       **_: object) -> list[dict[str, Any]]:
    """On residents' resident_registered: check in a newcomer whose scan waited for it."""
    if ctx is None:
        return []
    pending = services.take_pending(ctx.session, ctx.resident(), ctx.now)
    guardian = guardian_of(ctx.session, ctx.resident())
    if pending is None or guardian is None:
        return []
    center = ctx.session.get(Center, pending.center_id)
    return answer(ctx, services.choose_or_check_in(ctx.session, center, guardian, ctx.now,
                                                      city=ctx.city))


@router.menu("checkin")
@router.command("check in", "checkin", "チェックイン", "ちぇっくいん")
def status(ctx: EventContext, _text: str = "") -> None:
    """Say how to check in, or where the resident is checked in now (with a check-out button)."""
    guardian = guardian_of(ctx.session, ctx.resident())
    inside = services.open_visits(ctx.session, guardian.household_id) if guardian else []
    if not inside:
        ctx.reply(messages.text(ctx.t("To check in, scan the QR code at the entrance of the "
                                      "center with LINE.")))
        return
    visit = inside[0]
    label = ctx.t("Check out")
    ctx.reply(messages.text(
        ctx.t("You are checked in at %(center)s since %(time)s. Scan the QR code again when you "
              "leave, or tap \"Check out\".", center=ctx.session.get(Center, visit.center_id)
              .name(ctx.language), time=clock(ctx, visit.checked_in_at)),
        quick_replies=[messages.postback_item(label, CheckOut(visit.id), label)]))


@router.action(CheckOut)
def check_out_tap(ctx: EventContext, data: CheckOut) -> None:
    """Check out with the button (for a resident who left without scanning)."""
    guardian = guardian_of(ctx.session, ctx.resident())
    visit = ctx.session.get(Visit, data.visit)
    if guardian is None or visit is None or visit.household_id != guardian.household_id \
            or not services.check_out(ctx.session, visit, ctx.now, "scan"):
        ctx.reply(messages.text(ctx.t("You are not checked in now.")))
        return
    center = ctx.session.get(Center, visit.center_id)
    ctx.reply(*answer(ctx, ScanResult("out", center, visit)))
