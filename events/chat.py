"""Events in the chat: the carousel, reserving in one or two taps, the waitlist and its offers.

The rich-menu area "Events" shows a Flex carousel of the events the household can book
(at most 12 bubbles, then "More events"); a bubble's buttons reserve for all eligible
children or for one child, or join the waitlist when the event is full. The rules live in
events.services; this module only words the answers.
"""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.chat import registration_offer
from bot.context import EventContext
from bot.router import Router
from events import services
from events.buttons import (Accept, CancelReservation, Decline, LeaveWaitlist, Mine, More,
                            Reserve, Suggestions, Wait, postback)
from events.services import Booking, EventRefused
from events.settings import offer_valid
from models.event import Event
from models.household import Child
from residents.services import guardian_of

router = Router("events")
PAGE = 12  # LINE's limit of bubbles in a carousel
CHILD_BUTTONS = 3  # per-child buttons in a bubble, after "all eligible children"


def quick(label: str, data: Any) -> dict[str, Any]:
    return messages.postback_item(label, data, label)


def _guardian(ctx: EventContext):
    guardian = guardian_of(ctx.session, ctx.resident())
    if guardian is None:
        ctx.reply(messages.text(ctx.t(services.REASONS["not_registered"]),
                                quick_replies=registration_offer(ctx)))
    return guardian


@router.menu("events")
@router.command("events", "event", "イベント", "いべんと")
def events_menu(ctx: EventContext, _text: str = "") -> None:
    """Show the first page of bookable events."""
    show_page(ctx, 0)


@router.action(More)
def more(ctx: EventContext, data: More) -> None:
    show_page(ctx, max(0, data.offset))


def show_page(ctx: EventContext, offset: int) -> None:
    """Reply with a carousel of up to 12 events from `offset`, soonest first."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    found = services.bookable(ctx.session, guardian, ctx.now, ctx.city)
    page = found[offset:offset + PAGE]
    items = [quick(ctx.t("My reservations"), Mine())]
    if offset + PAGE < len(found):
        items.insert(0, quick(ctx.t("More events"), More(offset + PAGE)))
    if not page:
        ctx.reply(messages.text(ctx.t("There are no upcoming events you can book right now."),
                                quick_replies=items))
        return
    carousel = {"type": "carousel", "contents": [bubble(ctx, guardian, e) for e in page]}
    alt = ctx.t("Upcoming events (%(count)s)", count=len(found))
    ctx.reply({"type": "flex", "altText": alt, "contents": carousel,
               "quickReply": {"items": items}})


def bubble(ctx: EventContext, guardian, event: Event) -> dict[str, Any]:
    """One event: title, date, place, places left or "waitlist", the children it suits."""
    language = ctx.language
    fitting = services.eligible_children(event, guardian.household, ctx.city)
    free = services.free_places(event)
    names = "、".join(c.name for c, _ in fitting) or ctx.t("Guardians")
    status = (ctx.t("%(free)s places left", free=free) if free > 0
              else ctx.t("Full: waitlist"))
    lines = [services.when_text(event, ctx.city, language),
             services.place_name(ctx.session, event, language), status,
             ctx.t("For: %(names)s", names=names)]
    body = [{"type": "text", "text": event.title(language), "weight": "bold", "wrap": True}]
    body += [{"type": "text", "text": line, "size": "sm", "wrap": True} for line in lines]
    return {"type": "bubble",
            "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
            "footer": {"type": "box", "layout": "vertical", "spacing": "sm",
                       "contents": buttons(ctx, guardian, event, fitting, free)}}


def buttons(ctx: EventContext, guardian, event: Event, fitting, free: int) -> list[dict]:
    """Reserve for all eligible children first, then each child; or join the waitlist."""
    def button(label: str, data: Any, primary: bool = False) -> dict[str, Any]:
        return {"type": "button", "height": "sm", "style": "primary" if primary else "secondary",
                "action": postback(label, data, label)}

    session, household = ctx.session, guardian.household_id
    if services.own_reservation(session, event.id, household) is not None:
        return [button(ctx.t("Reserved: see mine"), Mine())]
    if services.live_entry(session, event.id, household) is not None:
        return [button(ctx.t("On the waitlist"), Mine())]
    if free <= 0:
        return [button(ctx.t("Join the waitlist"), Wait(event.id), True)]
    found = [button(ctx.t("Reserve: all children") if len(fitting) > 1 else ctx.t("Reserve"),
                    Reserve(event.id), True)]
    if len(fitting) > 1:
        found += [button(child.name, Reserve(event.id, child.id))
                  for child, _ in fitting[:CHILD_BUTTONS]]
    return found


@router.action(Reserve)
def reserve(ctx: EventContext, data: Reserve) -> None:
    """Reserve (or, when the last place just went, join the waitlist) and say which."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    try:
        booking = services.reserve(ctx.session, data.event, guardian, ctx.resident(), ctx.now,
                                   city=ctx.city, child_id=data.child)
    except EventRefused as refused:
        ctx.reply(messages.text(refused.text(ctx.language)))
        return
    ctx.reply(messages.text(booked_text(ctx, booking),
                            quick_replies=[quick(ctx.t("My reservations"), Mine())]))


@router.action(Wait)
def wait(ctx: EventContext, data: Wait) -> None:
    """Join the waitlist (once per household)."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    try:
        booking = services.join_waitlist(ctx.session, data.event, guardian, ctx.resident(),
                                         ctx.now, city=ctx.city)
    except EventRefused as refused:
        ctx.reply(messages.text(refused.text(ctx.language)))
        return
    ctx.reply(messages.text(booked_text(ctx, booking),
                            quick_replies=[quick(ctx.t("My reservations"), Mine())]))


def booked_text(ctx: EventContext, booking: Booking) -> str:
    """Say what a booking did."""
    event = booking.event
    title, when = event.title(ctx.language), services.when_text(event, ctx.city, ctx.language)
    if booking.kind == "reserved":
        names = "、".join(c.name for c in _children(ctx, booking.reservation.children)) \
            or ctx.t("Guardians")
        return ctx.t("Reserved: %(title)s, %(when)s, at %(place)s, for %(names)s. We will remind "
                     "you the day before.", title=title, when=when, names=names,
                     place=services.place_name(ctx.session, event, ctx.language))
    if booking.kind == "waiting":
        return ctx.t("%(title)s (%(when)s) is full, so you are on the waitlist: number "
                     "%(position)s. We will send you a message if places free up.",
                     title=title, when=when, position=booking.position)
    if booking.kind == "already_waiting":
        return ctx.t("You are already on the waitlist for %(title)s: number %(position)s.",
                     title=title, position=booking.position)
    return ctx.t("You already have a reservation for %(title)s (%(when)s).",
                 title=title, when=when)


def _children(ctx: EventContext, rows) -> list[Child]:
    """Return the children of a reservation still registered."""
    return [c for c in (ctx.session.get(Child, r.child_id) for r in rows if r.child_id) if c]


@router.action(Mine)
@router.command("my reservations", "reservations", "予約", "よやく", "予約確認")
def mine(ctx: EventContext, _data: Any = None) -> None:
    """List the household's reservations and waitlist places, each with its cancel button."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    reservations, entries = services.household_bookings(ctx.session, guardian.household_id,
                                                        ctx.now)
    if not reservations and not entries:
        ctx.reply(messages.text(ctx.t("You have no reservations. Tap \"Events\" in the menu to "
                                      "see what is on.")))
        return
    lines, items = [], []
    for r in reservations:
        event = ctx.session.get(Event, r.event_id)
        lines.append(ctx.t("Reserved: %(title)s, %(when)s", title=event.title(ctx.language),
                           when=services.when_text(event, ctx.city, ctx.language)))
        items.append(quick(ctx.t("Cancel: %(title)s", title=event.title(ctx.language)),
                           CancelReservation(r.id)))
    for w in entries:
        event = ctx.session.get(Event, w.event_id)
        if w.status == "offered":
            lines.append(ctx.t("Offered to you: %(title)s, %(when)s (answer by %(until)s)",
                               title=event.title(ctx.language),
                               when=services.when_text(event, ctx.city, ctx.language),
                               until=services.until_text(ctx.city.local(w.offer_expires_at),
                                                         ctx.language)))
            items += [quick(ctx.t("Accept: %(title)s", title=event.title(ctx.language)),
                            Accept(w.id))]
            continue
        lines.append(ctx.t("Waitlist number %(position)s: %(title)s, %(when)s",
                           position=services.waitlist_position(ctx.session, w),
                           title=event.title(ctx.language),
                           when=services.when_text(event, ctx.city, ctx.language)))
        items.append(quick(ctx.t("Leave: %(title)s", title=event.title(ctx.language)),
                           LeaveWaitlist(w.id)))
    ctx.reply(messages.text("\n".join(lines), quick_replies=items[:messages.QUICK_REPLY_LIMIT]))


@router.action(CancelReservation)
def cancel(ctx: EventContext, data: CancelReservation) -> None:
    """Cancel a reservation; after the deadline, refuse and say why."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    try:
        reservation = services.cancel_reservation(ctx.session, data.reservation,
                                                  guardian.household_id, ctx.now, city=ctx.city,
                                                  offer_valid=offer_valid())
    except EventRefused as refused:
        ctx.reply(messages.text(refused.text(ctx.language)))
        return
    event = ctx.session.get(Event, reservation.event_id)
    ctx.reply(messages.text(ctx.t("Your reservation for %(title)s (%(when)s) is cancelled.",
                                  title=event.title(ctx.language),
                                  when=services.when_text(event, ctx.city, ctx.language))))


@router.action(LeaveWaitlist)
def leave(ctx: EventContext, data: LeaveWaitlist) -> None:
    guardian = _guardian(ctx)
    if guardian is None:
        return
    if services.leave_waitlist(ctx.session, data.entry, guardian.household_id, ctx.now):
        ctx.reply(messages.text(ctx.t("You have left the waitlist.")))
    else:
        ctx.reply(messages.text(ctx.t("You are not on this waitlist any more.")))


@router.action(Accept)
def accept(ctx: EventContext, data: Accept) -> None:
    """Take the offered places (once; an expired or answered offer says so)."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    try:
        reservation = services.accept_offer(ctx.session, data.entry, guardian.household_id,
                                            ctx.now)
    except EventRefused as refused:
        ctx.reply(messages.text(refused.text(ctx.language)))
        return
    event = ctx.session.get(Event, reservation.event_id)
    ctx.reply(messages.text(booked_text(ctx, Booking("reserved", event, reservation))))


@router.action(Decline)
def decline(ctx: EventContext, data: Decline) -> None:
    """Decline the offer: the places pass to the next household at once."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    try:
        services.decline_offer(ctx.session, data.entry, guardian.household_id, ctx.now,
                               city=ctx.city, offer_valid=offer_valid())
    except EventRefused as refused:
        ctx.reply(messages.text(refused.text(ctx.language)))
        return
    ctx.reply(messages.text(ctx.t("You declined the places. Thank you for telling us.")))


@router.action(Suggestions)
def suggestions(ctx: EventContext, data: Suggestions) -> None:
    """Turn suggested events (after a visit) on or off."""
    guardian = _guardian(ctx)
    if guardian is None:
        return
    services.set_suggestions(ctx.session, guardian.household_id, data.on)
    if data.on:
        ctx.reply(messages.text(ctx.t("We will suggest events after your visits again.")))
    else:
        label = ctx.t("Turn suggestions on")
        ctx.reply(messages.text(ctx.t("We will not suggest events after your visits any more."),
                                quick_replies=[quick(label, Suggestions(True))]))


def my_data_lines(_resident, *, ctx: EventContext, guardian, **_: object):
    """On residents' my_data_shown: say whether events are suggested after visits, with the
    button that turns them the other way."""
    on = services.suggestions_on(ctx.session, guardian.household_id)
    line = ctx.t("Event suggestions after a visit: %(state)s",
                 state=ctx.t("on") if on else ctx.t("off"))
    label = ctx.t("Stop suggestions") if on else ctx.t("Turn suggestions on")
    return [line], [(label, Suggestions(not on))]
