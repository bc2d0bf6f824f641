"""Events: booking, the waitlist and its offers, cancellation, reminders, attendance.

Plain functions of a Session, `now` and the settings they need (a City, the offer's validity);
the chat, the staff pages, the CLI and the clock all call them. The numbers are kept by the
database (models/event.py): places are taken and given back only by conditional UPDATEs of
`events.taken`, which CHECK constraints keep between zero and the capacity; a household has
at most one live reservation and one live waitlist entry per event (unique indexes); an
offer is answered once (a conditional UPDATE of its status). A race loses cleanly: the
loser's savepoint is undone and it is told what happened, never over-booked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages
from bot.outbox import enqueue
from checkin.services import age_in_months
from cityhall.city import City
from cityhall.i18n import format_clock, format_day, format_moment, translate
from events.buttons import Accept, CancelReservation, Decline, Reserve, Suggestions, postback
from models import Center, Resident, utcnow
from models.event import Event, EventPreference, Reservation, ReservationChild, WaitlistEntry
from models.household import Child, Guardian, Household

UNITS = ("children", "families")
OFFER_VALID_FOR = timedelta(hours=12)  # EVENTS_OFFER_HOURS
ATTENDANCE_FROM = timedelta(minutes=30)  # a check-in this early counts
SUGGEST_AT_MOST_EVERY = timedelta(days=7)
LIVE = ("waiting", "offered")


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return message


class EventRefused(Exception):
    """A request that changes nothing; `reason` is a key of REASONS, `values` fill it in."""

    def __init__(self, reason: str, **values: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values

    def text(self, language: str) -> str:
        values = {key: moment_text(value, language) if isinstance(value, datetime) else value
                  for key, value in self.values.items()}
        return translate(language, REASONS[self.reason], **values)


REASONS = {
    "gone": N_("This event is no longer available."),
    "cancelled": N_("This event was cancelled."),
    "not_open": N_("Booking for this event opens on %(when)s."),
    "closed": N_("Booking for this event has closed."),
    "not_eligible": N_("This event is not for your children (age or district)."),
    "no_children": N_("Please choose at least one child who may come to this event."),
    "deadline": N_("The cancellation deadline (%(when)s) has passed, so this reservation can "
                   "no longer be cancelled here. Please contact the center."),
    "not_yours": N_("This reservation is not yours or was already cancelled."),
    "offer_gone": N_("This offer is no longer valid: it expired, was answered, or the event "
                     "changed."),
    "not_registered": N_("Please register first (\"Register\" in the menu)."),
}


# Who may come


def event_day(event: Event, city: City) -> date:
    """Return the local date of the event (ages are counted on it)."""
    return city.today(event.starts_at)


def fits_age(event: Event, months: int) -> bool:
    """Tell whether a child of this age in months fits the event's age range."""
    return ((event.min_age_months is None or months >= event.min_age_months)
            and (event.max_age_months is None or months <= event.max_age_months))


def eligible_children(event: Event, household: Household, city: City) -> list[tuple[Child, int]]:
    """Return the household's children who fit the event, with their age on its date."""
    day = event_day(event, city)
    found = [(c, age_in_months(c.birth_date, day)) for c in household.children
             if c.birth_date <= day]
    return [(c, months) for c, months in found if fits_age(event, months)]


def district_fits(event: Event, guardian: Guardian) -> bool:
    return not event.districts or guardian.district_code in event.districts


def may_book(event: Event, guardian: Guardian, city: City) -> bool:
    """Tell whether the guardian's household may book: district, and a child who fits
    (or no child needed when guardians without a child may come)."""
    if not district_fits(event, guardian):
        return False
    return bool(eligible_children(event, guardian.household, city)) or event.guardians_without_child


def places_for(event: Event, children: int) -> int:
    """Return the places a booking takes: its children, or one per family (at least one)."""
    return max(1, children) if event.unit == "children" else 1


def free_places(event: Event) -> int:
    return event.capacity - event.taken


def bookable(session: Session, guardian: Guardian, now: datetime, city: City) -> list[Event]:
    """Return upcoming events the household may book now, soonest first."""
    query = select(Event).where(Event.cancelled_at.is_(None), Event.starts_at > now,
                                (Event.opens_at.is_(None)) | (Event.opens_at <= now),
                                func.coalesce(Event.closes_at, Event.starts_at) > now)
    events = session.scalars(query.order_by(Event.starts_at, Event.id))
    return [e for e in events if may_book(e, guardian, city)]


def place_name(session: Session, event: Event, language: str) -> str:
    """Name where the event is held: its own place, or the organising center."""
    if event.place_name:
        return event.place_name
    return session.get(Center, event.center_id).name(language)


# Places, kept by the database


def take(session: Session, event_id: int, places: int) -> bool:
    """Take places if that many are free (one conditional UPDATE); False when they are not."""
    return session.execute(
        update(Event).where(Event.id == event_id, Event.cancelled_at.is_(None),
                            Event.taken + places <= Event.capacity)
        .values(taken=Event.taken + places).returning(Event.id)
        .execution_options(synchronize_session=False)).first() is not None


def give_back(session: Session, event_id: int, places: int) -> None:
    """Return places (a cancellation, a declined or expired offer)."""
    session.execute(update(Event).where(Event.id == event_id)
                    .values(taken=Event.taken - places).execution_options(synchronize_session=False))


def locked(session: Session, event_id: int) -> Event | None:
    """Return the event with its row locked for this transaction (PostgreSQL; SQLite's
    writers are serialised already), fresh from the database."""
    return session.scalars(select(Event).where(Event.id == event_id)
                           .with_for_update(key_share=True)
                           .execution_options(populate_existing=True)).first()


# Booking


@dataclass
class Booking:
    """What a reservation request did: "reserved", "waiting", "already", "already_waiting"."""

    kind: str
    event: Event
    reservation: Reservation | None = None
    entry: WaitlistEntry | None = None
    position: int = 0


def _check_window(event: Event | None, now: datetime, city: City) -> Event:
    if event is None:
        raise EventRefused("gone")
    if event.cancelled_at is not None:
        raise EventRefused("cancelled")
    if event.opens_at is not None and now < event.opens_at:
        raise EventRefused("not_open", when=city.local(event.opens_at))
    if now >= event.booking_closes:
        raise EventRefused("closed")
    return event


def chosen_children(event: Event, guardian: Guardian, child_id: int | None,
                    city: City) -> list[tuple[Child, int]]:
    """Return the children a tap chose: all who fit (None), or the one child named."""
    fitting = eligible_children(event, guardian.household, city)
    if not district_fits(event, guardian) or (not fitting and not event.guardians_without_child):
        raise EventRefused("not_eligible")
    if child_id is None:
        return fitting
    picked = [(c, m) for c, m in fitting if c.id == child_id]
    if not picked:
        raise EventRefused("no_children")
    return picked


def reserve(session: Session, event_id: int, guardian: Guardian, resident: Resident | None,
            now: datetime, *, city: City, child_id: int | None = None,
            source: str = "chat") -> Booking:
    """Reserve places for the chosen children; when the event is full, join its waitlist.

    Of two households racing for the last place, one gets it and the other the waitlist:
    `take` is one conditional UPDATE, so the database decides.
    """
    event = _check_window(session.get(Event, event_id), now, city)
    children = chosen_children(event, guardian, child_id, city)
    places = places_for(event, len(children))
    current = own_reservation(session, event.id, guardian.household_id)
    if current is not None:
        return Booking("already", event, reservation=current)
    try:
        with session.begin_nested():
            reservation = Reservation(
                event_id=event.id, household_id=guardian.household_id,
                resident_id=resident.id if resident else None, places=places, source=source,
                created_at=now, children=[ReservationChild(child_id=c.id, age_months=m)
                                          for c, m in children])
            session.add(reservation)
            session.flush()  # a partner's racing reservation fails here (unique index)
            if not take(session, event.id, places):
                raise _Full()
    except _Full:
        session.expire(event)
        return join_waitlist(session, event.id, guardian, resident, now, city=city,
                             child_id=child_id)
    except IntegrityError:
        session.expire_all()
        return Booking("already", event,
                       reservation=own_reservation(session, event.id, guardian.household_id))
    _leave_waitlist_once_booked(session, event.id, guardian.household_id, now)
    session.expire(event)
    return Booking("reserved", event, reservation=reservation)


class _Full(Exception):
    """No places left: undo the reservation's savepoint."""


def _leave_waitlist_once_booked(session: Session, event_id: int, household_id: int,
                                now: datetime) -> None:
    session.execute(update(WaitlistEntry).where(
        WaitlistEntry.event_id == event_id, WaitlistEntry.household_id == household_id,
        WaitlistEntry.status == "waiting").values(status="left", ended_at=now)
        .execution_options(synchronize_session=False))


def join_waitlist(session: Session, event_id: int, guardian: Guardian,
                  resident: Resident | None, now: datetime, *, city: City,
                  child_id: int | None = None) -> Booking:
    """Put the household on the waitlist once, however many children it brings."""
    event = _check_window(session.get(Event, event_id), now, city)
    children = chosen_children(event, guardian, child_id, city)
    current = own_reservation(session, event.id, guardian.household_id)
    if current is not None:
        return Booking("already", event, reservation=current)
    existing = live_entry(session, event.id, guardian.household_id)
    if existing is not None:
        return Booking("already_waiting", event, entry=existing,
                       position=waitlist_position(session, existing))
    entry = WaitlistEntry(event_id=event.id, household_id=guardian.household_id,
                          resident_id=resident.id if resident else None,
                          places=places_for(event, len(children)),
                          child_ids=[c.id for c, _ in children], ages=[m for _, m in children],
                          created_at=now)
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        session.expire_all()
        existing = live_entry(session, event.id, guardian.household_id)
        return Booking("already_waiting", event, entry=existing,
                       position=waitlist_position(session, existing) if existing else 0)
    return Booking("waiting", event, entry=entry, position=waitlist_position(session, entry))


def own_reservation(session: Session, event_id: int, household_id: int) -> Reservation | None:
    return session.scalars(select(Reservation).where(
        Reservation.event_id == event_id, Reservation.household_id == household_id,
        Reservation.status == "reserved")).first()


def live_entry(session: Session, event_id: int, household_id: int) -> WaitlistEntry | None:
    return session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.event_id == event_id, WaitlistEntry.household_id == household_id,
        WaitlistEntry.status.in_(LIVE))).first()


def waitlist_position(session: Session, entry: WaitlistEntry) -> int:
    """Return the entry's place in the queue (1 = next), counting live entries before it."""
    return session.scalar(select(func.count()).where(
        WaitlistEntry.event_id == entry.event_id, WaitlistEntry.status.in_(LIVE),
        WaitlistEntry.id <= entry.id)) or 0


def waiting_count(session: Session, event_id: int) -> int:
    return session.scalar(select(func.count()).where(
        WaitlistEntry.event_id == event_id, WaitlistEntry.status.in_(LIVE))) or 0


def reserved_count(session: Session, event_id: int) -> int:
    """Return the places held by reservations (offers on hold not included)."""
    return session.scalar(select(func.coalesce(func.sum(Reservation.places), 0)).where(
        Reservation.event_id == event_id, Reservation.status == "reserved")) or 0


def household_bookings(session: Session, household_id: int, now: datetime
                       ) -> tuple[list[Reservation], list[WaitlistEntry]]:
    """Return the household's reservations and live waitlist entries for events not ended."""
    reservations = list(session.scalars(
        select(Reservation).join(Event).where(Reservation.household_id == household_id,
                                              Reservation.status == "reserved",
                                              Event.ends_at > now).order_by(Event.starts_at)))
    entries = list(session.scalars(
        select(WaitlistEntry).join(Event).where(WaitlistEntry.household_id == household_id,
                                                WaitlistEntry.status.in_(LIVE),
                                                Event.ends_at > now).order_by(Event.starts_at)))
    return reservations, entries


# Cancelling and leaving


def cancel_reservation(session: Session, reservation_id: int, household_id: int,
                       now: datetime, *, city: City,
                       offer_valid: timedelta = OFFER_VALID_FOR) -> Reservation:
    """Cancel a household's reservation before the deadline; the places go to the waitlist."""
    reservation = session.get(Reservation, reservation_id)
    if reservation is None or reservation.household_id != household_id \
            or reservation.status != "reserved":
        raise EventRefused("not_yours")
    event = session.get(Event, reservation.event_id)
    if now >= event.cancellation_deadline:
        raise EventRefused("deadline", when=city.local(event.cancellation_deadline))
    if not _end_reservation(session, reservation, now, "cancelled"):
        raise EventRefused("not_yours")
    offer_free_places(session, event.id, now, city=city, offer_valid=offer_valid)
    return reservation


def _end_reservation(session: Session, reservation: Reservation, now: datetime,
                     status: str) -> bool:
    """Mark a live reservation ended and give its places back; False if it had ended."""
    won = session.execute(
        update(Reservation).where(Reservation.id == reservation.id,
                                  Reservation.status == "reserved")
        .values(status=status, cancelled_at=now).returning(Reservation.id)
        .execution_options(synchronize_session=False)).first() is not None
    if won:
        give_back(session, reservation.event_id, reservation.places)
    session.expire(reservation)
    return won


def leave_waitlist(session: Session, entry_id: int, household_id: int, now: datetime) -> bool:
    """Take the household off a waitlist (a waiting entry; an offer is declined instead)."""
    return session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry_id,
                                    WaitlistEntry.household_id == household_id,
                                    WaitlistEntry.status == "waiting")
        .values(status="left", ended_at=now).returning(WaitlistEntry.id)
        .execution_options(synchronize_session=False)).first() is not None


# Offers from the waitlist


def offer_expiry(event: Event, now: datetime, offer_valid: timedelta) -> datetime:
    """An offer is valid for `offer_valid`, never past the booking close."""
    return min(now + offer_valid, event.booking_closes)


def offer_free_places(session: Session, event_id: int, now: datetime, *, city: City,
                      offer_valid: timedelta = OFFER_VALID_FOR) -> list[WaitlistEntry]:
    """Offer free places to the first waiting households that fit them, in order.

    Never once booking has closed (so never after the event starts), never to an entry that
    was declined, expired or left: only `waiting` entries are offered.
    """
    event = locked(session, event_id)
    if event is None or event.cancelled_at is not None or now >= event.booking_closes:
        return []
    offered = []
    for entry in session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.event_id == event_id, WaitlistEntry.status == "waiting")
            .order_by(WaitlistEntry.id)).all():
        if entry.places > event.capacity - event.taken:
            continue
        if not take(session, event_id, entry.places):
            continue
        expires = offer_expiry(event, now, offer_valid)
        won = session.execute(
            update(WaitlistEntry).where(WaitlistEntry.id == entry.id,
                                        WaitlistEntry.status == "waiting")
            .values(status="offered", offered_at=now, offer_expires_at=expires)
            .returning(WaitlistEntry.id).execution_options(synchronize_session=False)).first()
        if won is None:
            give_back(session, event_id, entry.places)
            continue
        session.expire(entry)
        session.refresh(event)
        _tell_offer(session, event, entry, city=city)
        offered.append(entry)
    return offered


def accept_offer(session: Session, entry_id: int, household_id: int, now: datetime) -> Reservation:
    """Turn an open offer into a reservation (its places are already held); once only."""
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.household_id != household_id:
        raise EventRefused("offer_gone")
    won = session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry_id,
                                    WaitlistEntry.status == "offered",
                                    WaitlistEntry.offer_expires_at > now)
        .values(status="accepted", ended_at=now).returning(WaitlistEntry.id)
        .execution_options(synchronize_session=False)).first() is not None
    if not won:
        raise EventRefused("offer_gone")
    session.refresh(entry)
    reservation = Reservation(
        event_id=entry.event_id, household_id=household_id, resident_id=entry.resident_id,
        places=entry.places, source="offer", created_at=now,
        children=[ReservationChild(child_id=cid, age_months=age)
                  for cid, age in zip(entry.child_ids, entry.ages, strict=False)])
    session.add(reservation)
    session.flush()
    entry.reservation_id = reservation.id
    return reservation


def decline_offer(session: Session, entry_id: int, household_id: int, now: datetime, *,
                  city: City, offer_valid: timedelta = OFFER_VALID_FOR) -> None:
    """Decline an open offer: the places pass to the next household at once."""
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.household_id != household_id:
        raise EventRefused("offer_gone")
    if not _end_offer(session, entry, now, "declined", WaitlistEntry.offer_expires_at > now):
        raise EventRefused("offer_gone")
    offer_free_places(session, entry.event_id, now, city=city, offer_valid=offer_valid)


def _end_offer(session: Session, entry: WaitlistEntry, now: datetime, status: str,
               *condition: Any) -> bool:
    """End an open offer (declined, expired) and give its places back; False if answered."""
    won = session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry.id,
                                    WaitlistEntry.status == "offered", *condition)
        .values(status=status, ended_at=now).returning(WaitlistEntry.id)
        .execution_options(synchronize_session=False)).first() is not None
    if won:
        give_back(session, entry.event_id, entry.places)
    session.expire(entry)
    return won


def expire_offers(session: Session, now: datetime, *, city: City,
                  offer_valid: timedelta = OFFER_VALID_FOR) -> int:
    """Pass every unanswered offer past its time to the next household; close the waitlists
    of events that started (still waiting = unmet demand). Return the offers expired."""
    expired = 0
    for entry in session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.status == "offered", WaitlistEntry.offer_expires_at <= now)
            .order_by(WaitlistEntry.id)).all():
        if _end_offer(session, entry, now, "expired", WaitlistEntry.offer_expires_at <= now):
            expired += 1
            offer_free_places(session, entry.event_id, now, city=city, offer_valid=offer_valid)
    started = select(Event.id).where(Event.starts_at <= now)
    for entry in session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.status == "waiting", WaitlistEntry.event_id.in_(started))).all():
        event = session.get(Event, entry.event_id)
        session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry.id,
                                                    WaitlistEntry.status == "waiting")
                        .values(status="unmet", ended_at=event.starts_at)
                        .execution_options(synchronize_session=False))
    return expired


# Cancelling an event


def cancel_event(session: Session, event: Event, now: datetime, *, city: City) -> dict[str, int]:
    """Cancel an event: every reservation and waitlist entry ends, the places are freed, and
    every reserved and waiting family is told. Return how many of each were ended."""
    event = locked(session, event.id)
    if event.cancelled_at is not None:
        return {"reserved": 0, "waiting": 0}
    households = set()
    reservations = list(session.scalars(select(Reservation).where(
        Reservation.event_id == event.id, Reservation.status == "reserved")))
    for reservation in reservations:
        if _end_reservation(session, reservation, now, "event_cancelled") \
                and reservation.household_id:
            households.add(reservation.household_id)
    entries = list(session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.event_id == event.id, WaitlistEntry.status.in_(LIVE))))
    for entry in entries:
        if entry.status == "offered":
            _end_offer(session, entry, now, "event_cancelled")
        else:
            session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry.id)
                            .values(status="event_cancelled", ended_at=now)
                            .execution_options(synchronize_session=False))
        if entry.household_id:
            households.add(entry.household_id)
    event.cancelled_at = now
    session.flush()
    _tell_families(session, event, sorted(households), "cancelled", city=city)
    return {"reserved": len(reservations), "waiting": len(entries)}


# Staff


EDITABLE = ("center_id", "place_name", "place_address", "title_ja", "title_en",
            "description_ja", "description_en", "starts_at", "ends_at", "capacity", "unit",
            "min_age_months", "max_age_months", "districts", "opens_at", "closes_at",
            "cancel_deadline", "guardians_without_child")


def check_values(values: dict[str, Any]) -> None:
    """Refuse values no event can hold (also checked by the forms, with their own words)."""
    if values["ends_at"] <= values["starts_at"]:
        raise ValueError("an event ends after it starts")
    if values["capacity"] < 1:
        raise ValueError("capacity must be at least 1")
    if values["unit"] not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    low, high = values.get("min_age_months"), values.get("max_age_months")
    if low is not None and high is not None and low > high:
        raise ValueError("the minimum age is above the maximum")


def create_events(session: Session, values: dict[str, Any], now: datetime,
                  weeks: int = 1) -> list[Event]:
    """Create an event, or one per week for `weeks` weeks (a series): every date shifted."""
    check_values(values)
    series = secrets.token_hex(8) if weeks > 1 else None
    created = []
    for week in range(weeks):
        shift = timedelta(weeks=week)
        shifted = {k: (v + shift if isinstance(v, datetime) else v) for k, v in values.items()
                   if k in EDITABLE}
        event = Event(series=series, created_at=now, updated_at=now, **shifted)
        session.add(event)
        created.append(event)
    session.flush()
    return created


def update_event(session: Session, event: Event, values: dict[str, Any], now: datetime, *,
                 city: City, offer_valid: timedelta = OFFER_VALID_FOR) -> dict[str, list[Any]]:
    """Change an event; a capacity below the places taken is refused by the database.

    Return {field: [old, new]} for the audit log. More places go to the waitlist at once.
    """
    check_values({**{k: getattr(event, k) for k in EDITABLE}, **values})
    event = locked(session, event.id)
    before = {k: getattr(event, k) for k in EDITABLE}
    if "capacity" in values and values["capacity"] < event.taken:
        raise EventRefused("capacity_below_taken", taken=event.taken)
    for key, value in values.items():
        if key in EDITABLE:
            setattr(event, key, value)
    event.updated_at = now
    session.flush()
    offer_free_places(session, event.id, now, city=city, offer_valid=offer_valid)
    return {k: [_plain(before[k]), _plain(v)] for k, v in values.items()
            if k in EDITABLE and before[k] != v}


REASONS["capacity_below_taken"] = N_("The capacity cannot be below the %(taken)s places "
                                     "already reserved or offered.")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def add_by_staff(session: Session, event: Event, now: datetime, *, guest_name: str | None,
                 guardian: Guardian | None, places: int) -> Reservation:
    """Add a reservation by hand (a phone call, a family without LINE): takes places too."""
    if event.cancelled_at is not None:
        raise EventRefused("cancelled")
    if guardian is not None and own_reservation(session, event.id, guardian.household_id):
        raise EventRefused("already_reserved")
    try:
        with session.begin_nested():
            reservation = Reservation(event_id=event.id, places=places, source="staff",
                                      created_at=now, guest_name=guest_name,
                                      household_id=guardian.household_id if guardian else None)
            session.add(reservation)
            session.flush()
            if not take(session, event.id, places):
                raise _Full()
    except _Full:
        raise EventRefused("full", free=free_places(locked(session, event.id))) from None
    except IntegrityError:
        session.expire_all()
        raise EventRefused("already_reserved") from None
    if guardian is not None:
        _leave_waitlist_once_booked(session, event.id, guardian.household_id, now)
    return reservation


REASONS["already_reserved"] = N_("This family already has a reservation for this event.")
REASONS["full"] = N_("Not enough places: %(free)s left.")


def set_attended(session: Session, reservation: Reservation, attended: bool, now: datetime) -> None:
    """Mark a reservation attended (or not) by hand."""
    reservation.attended_at = now if attended else None


# Pushes


def guardians_of(session: Session, household_id: int) -> list[Resident]:
    """Return the LINE followers of a household who still follow us."""
    found = session.scalars(select(Resident).join(Guardian, Guardian.resident_id == Resident.id)
                            .where(Guardian.household_id == household_id).order_by(Guardian.id))
    return [r for r in found if not r.blocked]


def push(session: Session, household_id: int, source: str,
         build: Callable[[str], list[dict[str, Any]]]) -> None:
    """Queue one push per guardian of the household, built in each one's language."""
    for resident in guardians_of(session, household_id):
        enqueue(session, [resident.line_user_id], build(resident.language), source=source)


# Japanese and English (and staff pages) keep the ISO date and 24-hour times; the other
# languages read the day and times in their locale (Babel, Gregorian), easy Japanese in words.
ISO_LANGUAGES = ("ja", "en")


def when_text(event: Event, city: City, language: str) -> str:
    """Show an event's date and time: 2026-12-03 (木) 10:00–11:30,
    3 thg 12, 2026 (T5) 10:00–11:30, 2026年12月3日（木よう日） ごぜん10時から ごぜん11時30分まで."""
    start, end = city.local(event.starts_at), city.local(event.ends_at)
    weekday = translate(language, WEEKDAYS[start.weekday()])
    if language in ISO_LANGUAGES:
        return f"{start:%Y-%m-%d} ({weekday}) {start:%H:%M}–{end:%H:%M}"
    if language == "ja-easy":
        return (f"{format_day(language, start)} {format_clock(language, start)}から "
                f"{format_clock(language, end)}まで")
    return (f"{format_day(language, start)} ({weekday}) "
            f"{format_clock(language, start)}–{format_clock(language, end)}")


def moment_text(moment: datetime, language: str) -> str:
    """A local moment (a booking opening, a deadline): ISO in Japanese and English, else the
    resident's locale."""
    if language in ISO_LANGUAGES:
        return f"{moment:%Y-%m-%d %H:%M}"
    return format_moment(language, moment)


def until_text(moment: datetime, language: str) -> str:
    """When an offer must be answered: 12/03 18:00 in Japanese and English, else the locale."""
    if language in ISO_LANGUAGES:
        return f"{moment:%m/%d %H:%M}"
    return format_moment(language, moment)


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

def _tell_offer(session: Session, event: Event, entry: WaitlistEntry, *, city: City) -> None:
    """Push the offer with accept and decline buttons to the household's guardians."""
    def build(language: str) -> list[dict[str, Any]]:
        body = translate(language, "Places are free at %(title)s on %(when)s (%(place)s). "
                         "Would you like to take them? This offer is valid until %(until)s.",
                         title=event.title(language), when=when_text(event, city, language),
                         place=place_name(session, event, language),
                         until=until_text(city.local(entry.offer_expires_at), language))
        return [offer_message(body, entry, language)]
    push(session, entry.household_id, f"event-offer:{entry.id}", build)


def offer_message(body: str, entry: WaitlistEntry, language: str) -> dict[str, Any]:
    """Build the offer: a confirm template with the chat's accept and decline buttons."""
    yes, no = translate(language, "Accept"), translate(language, "Decline")
    actions = [postback(yes, Accept(entry.id), yes), postback(no, Decline(entry.id), no)]
    return {"type": "template", "altText": body[:400],
            "template": {"type": "confirm", "text": body[:240], "actions": actions}}


def _tell_families(session: Session, event: Event, household_ids: Sequence[int], kind: str, *,
                   city: City) -> None:
    """Tell families about their event (today: its cancellation), by push through the outbox.

    A personal message about the family's own reservation, so it goes to each household in
    its language whatever notice topics it stopped (docs/events.md), not as a notice.
    """
    for household_id in household_ids:
        push(session, household_id, f"event-{kind}:{event.id}", lambda language: [messages.text(
            translate(language, "We are sorry: %(title)s on %(when)s (%(place)s) has been "
                      "cancelled. Your reservation or waitlist place has been released.",
                      title=event.title(language), when=when_text(event, city, language),
                      place=place_name(session, event, language)))])


# The day-before reminder


def send_reminders(session: Session, now: datetime, *, city: City) -> int:
    """Remind every reservation of tomorrow's events once (in the resident's language)."""
    tomorrow = city.today(now) + timedelta(days=1)
    start = city.at(tomorrow, "00:00")
    end = city.at(tomorrow, "24:00")
    due = session.scalars(select(Reservation).join(Event).where(
        Reservation.status == "reserved", Reservation.reminded_at.is_(None),
        Reservation.household_id.is_not(None), Event.cancelled_at.is_(None),
        Event.starts_at >= start, Event.starts_at < end)).all()
    sent = 0
    for reservation in due:
        won = session.execute(update(Reservation).where(
            Reservation.id == reservation.id, Reservation.reminded_at.is_(None))
            .values(reminded_at=now).returning(Reservation.id)
            .execution_options(synchronize_session=False)).first()
        if won is None:
            continue
        event = session.get(Event, reservation.event_id)
        push(session, reservation.household_id, f"event-reminder:{reservation.id}",
             lambda language, r=reservation, e=event: [reminder_message(session, e, r, now, city,
                                                                        language)])
        sent += 1
    return sent


def reminder_message(session: Session, event: Event, reservation: Reservation, now: datetime,
                     city: City, language: str) -> dict[str, Any]:
    body = translate(language, "Reminder: %(title)s is tomorrow, %(when)s, at %(place)s. "
                     "We look forward to seeing you!", title=event.title(language),
                     when=when_text(event, city, language),
                     place=place_name(session, event, language))
    label = translate(language, "Cancel reservation")
    items = ([{"type": "action", "action": postback(label, CancelReservation(reservation.id),
                                                    label)}]
             if now < event.cancellation_deadline else None)
    return messages.text(body, quick_replies=items)


# Attendance from check-in


def mark_attendance(visit: Any, *, session: Session, now: datetime, **_: object) -> None:
    """On check-in's visit_started: a check-in at the event's center during the event (from
    30 minutes before) marks the household's reservation attended."""
    if not visit.household_id:
        return
    due = session.scalars(select(Reservation).join(Event).where(
        Reservation.household_id == visit.household_id, Reservation.status == "reserved",
        Reservation.attended_at.is_(None), Event.center_id == visit.center_id,
        Event.place_name.is_(None), Event.cancelled_at.is_(None),
        Event.starts_at <= now + ATTENDANCE_FROM,
        Event.ends_at > now)).all()
    for reservation in due:
        reservation.attended_at = now
        reservation.attended_visit_id = visit.id
    session.flush()


def attendance_lines(visit: Any, *, session: Session, language: str, **_: object) -> list[str]:
    """On check-in's reply hook: say which event this check-in counts for."""
    events = session.scalars(select(Event).join(Reservation).where(
        Reservation.attended_visit_id == visit.id).order_by(Event.starts_at)).all()
    return [translate(language, "Welcome to %(title)s! Your attendance is recorded.",
                      title=e.title(language)) for e in events]


# Suggestions at check-out


def suggestions_on(session: Session, household_id: int) -> bool:
    row = session.get(EventPreference, household_id)
    return row is None or row.suggestions


def set_suggestions(session: Session, household_id: int, on: bool) -> None:
    """Turn suggested events on or off for the household (My data / the suggestion's button)."""
    row = session.get(EventPreference, household_id)
    if row is None:
        session.add(EventPreference(household_id=household_id, suggestions=on))
    else:
        row.suggestions = on
    session.flush()


def suggestion_for(session: Session, guardian: Guardian, center_id: int, now: datetime,
                   city: City) -> Event | None:
    """Return the soonest upcoming event at the center that suits the children and has places,
    which the household has not booked or joined."""
    for event in bookable(session, guardian, now, city):
        if event.center_id != center_id or free_places(event) < 1 \
                or not eligible_children(event, guardian.household, city):
            continue
        if own_reservation(session, event.id, guardian.household_id) \
                or live_entry(session, event.id, guardian.household_id):
            continue
        return event
    return None


def suggest_after_visit(visit: Any, *, session: Session, now: datetime, method: str,
                        city: City, **_: object) -> Event | None:
    """On check-in's visit_ended (a check-out by the family): suggest one event, at most
    once a week per household, unless the household turned suggestions off."""
    if method != "scan" or not visit.household_id or not visit.resident_id:
        return None
    if not suggestions_on(session, visit.household_id):
        return None
    resident = session.get(Resident, visit.resident_id)
    guardian = session.scalars(select(Guardian).where(Guardian.resident_id == resident.id)).first()
    if guardian is None or resident.blocked:
        return None
    event = suggestion_for(session, guardian, visit.center_id, now, city)
    if event is None or not _claim_suggestion(session, visit.household_id, now):
        return None
    body = translate(resident.language, "How about %(title)s on %(when)s at %(place)s? "
                     "%(free)s places left.", title=event.title(resident.language),
                     when=when_text(event, city, resident.language),
                     place=place_name(session, event, resident.language),
                     free=free_places(event))
    language = resident.language
    book, stop = translate(language, "Reserve"), translate(language, "Stop suggestions")
    items = [{"type": "action", "action": postback(book, Reserve(event.id), book)},
             {"type": "action", "action": postback(stop, Suggestions(False), stop)}]
    enqueue(session, [resident.line_user_id], [messages.text(body, quick_replies=items)],
            source=f"event-suggestion:{event.id}")
    return event


def _claim_suggestion(session: Session, household_id: int, now: datetime) -> bool:
    """Record a suggestion unless one went out in the last week (a conditional write)."""
    row = session.get(EventPreference, household_id)
    if row is None:
        try:
            with session.begin_nested():
                session.add(EventPreference(household_id=household_id, suggestions=True,
                                            last_suggested_at=now))
                session.flush()
            return True
        except IntegrityError:
            session.expire_all()
    return session.execute(update(EventPreference).where(
        EventPreference.household_id == household_id,
        (EventPreference.last_suggested_at.is_(None))
        | (EventPreference.last_suggested_at <= now - SUGGEST_AT_MOST_EVERY))
        .values(last_suggested_at=now).returning(EventPreference.household_id)
        .execution_options(synchronize_session=False)).first() is not None


# The notices feature's segment criterion `"event": ID`


def reservation_holders(value: Any, _ctx: Any = None):
    """Return a SELECT of the resident ids of households holding a reservation for the event
    (the builder of the segment key "event"; every guardian of such a household)."""
    return (select(Guardian.resident_id)
            .join(Reservation, Reservation.household_id == Guardian.household_id)
            .where(Reservation.event_id == int(value), Reservation.status == "reserved"))


def holders_on_day(center_id: int, day: date, ctx: Any):
    """Return a SELECT of the resident ids of households holding a reservation for an event
    at the center on that day (a closure alert's source, registered with notices)."""
    start, end = ctx.city.at(day, "00:00"), ctx.city.at(day, "24:00")
    return (select(Guardian.resident_id)
            .join(Reservation, Reservation.household_id == Guardian.household_id)
            .join(Event, Event.id == Reservation.event_id)
            .where(Event.center_id == center_id, Event.cancelled_at.is_(None),
                   Event.starts_at >= start, Event.starts_at < end,
                   Reservation.status == "reserved"))


def check_event_id(value: Any) -> str | None:
    """Say why a segment's "event" value is refused (it must be an event id), or None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "\"event\" must be an event id (a positive whole number)"
    return None


# Erasure


def erase_household(resident: Resident, *, session: Session, household: Household | None,
                    **_: object) -> None:
    """On residents' registration_erasing: unlink the resident from reservations and waitlist
    entries; a deleted household's reservations and entries end (their places go to the
    waitlist). The anonymous rows stay for the statistics."""
    for model in (Reservation, WaitlistEntry):
        session.execute(update(model).where(model.resident_id == resident.id)
                        .values(resident_id=None).execution_options(synchronize_session=False))
    if household is None:
        return
    from flask import has_app_context

    from cityhall.city import current_city

    now, city = utcnow(), current_city() if has_app_context() else City()
    events = set()
    for reservation in session.scalars(select(Reservation).where(
            Reservation.household_id == household.id, Reservation.status == "reserved")).all():
        _end_reservation(session, reservation, now, "cancelled")
        events.add(reservation.event_id)
    for entry in session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.household_id == household.id, WaitlistEntry.status.in_(LIVE))).all():
        if entry.status == "offered":
            _end_offer(session, entry, now, "left")
        else:
            leave_waitlist(session, entry.id, household.id, now)
        events.add(entry.event_id)
    for event_id in sorted(events):
        offer_free_places(session, event_id, now, city=city)


# Summaries (CLI, staff)


def summary(session: Session, event: Event) -> dict[str, Any]:
    """Describe an event for `cityhall events list --json` and the staff list."""
    return {"id": event.id, "title": event.title_ja, "starts": event.starts_at.isoformat(),
            "capacity": event.capacity, "reserved": reserved_count(session, event.id),
            "waiting": waiting_count(session, event.id), "unit": event.unit,
            "center": session.get(Center, event.center_id).code,
            "cancelled": event.cancelled_at is not None}


@dataclass
class Roll:
    """The staff's reservation list of one event."""

    reservations: list[dict[str, Any]] = field(default_factory=list)
    waitlist: list[dict[str, Any]] = field(default_factory=list)


def roll(session: Session, event: Event, city: City, now: datetime) -> Roll:
    """Return the reservations (with attendance) and the waitlist in order, as plain rows."""
    result = Roll()
    started = now >= event.starts_at
    for r in session.scalars(select(Reservation).where(Reservation.event_id == event.id)
                             .order_by(Reservation.id)):
        result.reservations.append({
            "id": r.id, "name": _household_name(session, r.household_id) or r.guest_name or "—",
            "children": _children_names(session, [c.child_id for c in r.children]),
            "places": r.places, "status": r.status, "source": r.source,
            "language": reader_language(session, r.resident_id, r.household_id),
            "booked": city.local(r.created_at).strftime("%Y-%m-%d %H:%M"),
            "attended": r.attended_at is not None,
            "no_show": started and r.status == "reserved" and r.attended_at is None
            and now >= event.ends_at})
    position = 0
    for w in session.scalars(select(WaitlistEntry).where(WaitlistEntry.event_id == event.id)
                             .order_by(WaitlistEntry.id)):
        live = w.status in LIVE
        position += 1 if live else 0
        result.waitlist.append({
            "id": w.id, "position": position if live else None,
            "name": _household_name(session, w.household_id) or "—",
            "children": _children_names(session, w.child_ids), "places": w.places,
            "language": reader_language(session, w.resident_id, w.household_id),
            "status": w.status, "joined": city.local(w.created_at).strftime("%Y-%m-%d %H:%M"),
            "offer_until": city.local(w.offer_expires_at).strftime("%Y-%m-%d %H:%M")
            if w.offer_expires_at else ""})
    return result


def reader_language(session: Session, resident_id: int | None,
                    household_id: int | None) -> str | None:
    """The language a booking's messages go out in: the booking resident's, else the first
    guardian's with LINE; None for a family staff added without LINE."""
    if resident_id is not None:
        found = session.scalars(select(Resident.language)
                                .where(Resident.id == resident_id)).first()
        if found:
            return found
    if household_id is None:
        return None
    return session.scalars(select(Resident.language)
                           .join(Guardian, Guardian.resident_id == Resident.id)
                           .where(Guardian.household_id == household_id)
                           .order_by(Guardian.id)).first()


def _household_name(session: Session, household_id: int | None) -> str | None:
    if household_id is None:
        return None
    return session.scalars(select(Guardian.name).where(Guardian.household_id == household_id)
                           .order_by(Guardian.id)).first()


def _children_names(session: Session, child_ids: Sequence[int | None]) -> str:
    names = [session.get(Child, cid).name for cid in child_ids if cid and session.get(Child, cid)]
    return "、".join(names)
