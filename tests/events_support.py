"""Builders for the events tests: families with chosen birth dates, events, buttons in any
message (quick replies, Flex bubbles, templates), jobs at a controlled `now`, the outbox."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cityhall.city import current_city
from cityhall.db import db
from cityhall.jobs import run_job
from events import services
from models import Center, OutboxMessage, Resident, utcnow
from models.event import Event, Reservation, WaitlistEntry
from models.household import Child, Guardian, Household
from tests.chat import Resident as ChatResident


def household(app, user_ids: list[str], births: list[date], district: str = "ota",
              names: list[str] | None = None) -> int:
    """Register guardians (one per LINE user) sharing a household with these children."""
    with app.app_context(), db.transaction() as session:
        found = Household(created_at=utcnow())
        session.add(found)
        for n, user_id in enumerate(user_ids):
            resident = Resident(line_user_id=user_id, language="ja", language_chosen=True)
            session.add(resident)
            session.flush()
            session.add(Guardian(resident_id=resident.id, household=found,
                                 name=f"保護者{user_id[-4:]}{n}", kana="ホゴシャ",
                                 phone=f"0901234{n:04d}", postal_code="505-0041",
                                 address="太田町1", district_code=district,
                                 consented_at=utcnow()))
        for n, born in enumerate(births):
            label = names[n] if names else f"子ども{n + 1}"
            session.add(Child(household=found, name=label, kana="コドモ", birth_date=born))
        session.flush()
        return found.id


def member(line, app, births: list[date] | None = None, district: str = "ota",
           names: list[str] | None = None) -> tuple[ChatResident, int]:
    """A registered resident chatting through the emulator, and their household id."""
    person = ChatResident(line)
    return person, household(app, [person.user_id], births or [date(2024, 1, 20)], district,
                             names)


def local(app, day: date, hhmm: str) -> datetime:
    with app.app_context():
        return current_city().at(day, hhmm)


def make_event(app, center: str = "central", days: int = 3, at: str = "10:00",
               **values: Any) -> int:
    """Create an event `days` days from today at `at` (local), 90 minutes long; return its id."""
    with app.app_context(), db.transaction() as session:
        city = current_city()
        start = city.at(city.today(utcnow()) + timedelta(days=days), at)
        center_id = session.scalars(select(Center.id).where(Center.code == center)).one()
        defaults = {"center_id": center_id, "title_ja": "親子リトミック", "title_en": "Rhythm",
                    "starts_at": start, "ends_at": start + timedelta(minutes=90),
                    "capacity": 10, "unit": "children"}
        weeks = values.pop("weeks", 1)
        events = services.create_events(session, {**defaults, **values}, utcnow(), weeks=weeks)
        return events[0].id


def event_row(app, event_id: int) -> dict[str, Any]:
    with app.app_context(), db.session() as session:
        event = session.get(Event, event_id)
        return {"taken": event.taken, "capacity": event.capacity,
                "reserved": services.reserved_count(session, event_id),
                "waiting": services.waiting_count(session, event_id),
                "cancelled": event.cancelled_at is not None}


def reservations(app, event_id: int | None = None) -> list[dict[str, Any]]:
    with app.app_context(), db.session() as session:
        query = select(Reservation).order_by(Reservation.id)
        if event_id is not None:
            query = query.where(Reservation.event_id == event_id)
        return [{"id": r.id, "household": r.household_id, "places": r.places,
                 "status": r.status, "source": r.source, "attended": r.attended_at,
                 "reminded": r.reminded_at, "ages": [c.age_months for c in r.children],
                 "children": [c.child_id for c in r.children]}
                for r in session.scalars(query)]


def waitlist(app, event_id: int) -> list[dict[str, Any]]:
    with app.app_context(), db.session() as session:
        return [{"id": w.id, "household": w.household_id, "status": w.status,
                 "places": w.places, "expires": w.offer_expires_at}
                for w in session.scalars(select(WaitlistEntry).where(
                    WaitlistEntry.event_id == event_id).order_by(WaitlistEntry.id))]


def run(app, name: str, now: datetime) -> Any:
    with app.app_context():
        return run_job(name, now)


def pushes(app, user_id: str, source: str | None = None) -> list[dict[str, Any]]:
    """Return the messages queued for a user (oldest first), optionally of one source prefix."""
    with app.app_context(), db.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [m for row in rows if user_id in row.recipients
                and (source is None or (row.source or "").startswith(source))
                for m in row.messages]


def actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every action a message carries: quick replies, template and Flex buttons."""
    found = [i["action"] for i in (message.get("quickReply") or {}).get("items", [])]
    template = message.get("template") or {}
    found += template.get("actions", [])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button" and "action" in node:
                found.append(node["action"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("contents"))
    return found


def press(person: ChatResident, label: str, message: dict[str, Any] | None = None,
          index: int = 0) -> dict[str, Any]:
    """Tap the button with this label (the `index`-th of that label) on a message (default:
    the last one received), with the postback data the bot really sent."""
    message = message or person.received()[-1]
    found = [a for a in actions(message) if a.get("label") == label]
    assert len(found) > index, f"no button {label!r} in {[a.get('label') for a in actions(message)]}"
    return person.postback(found[index]["data"])


def last_flex(person: ChatResident) -> dict[str, Any]:
    flex = [m for m in person.received() if m["type"] == "flex"]
    assert flex, f"no carousel; last: {person.last()!r}"
    return flex[-1]


def bubble_titles(message: dict[str, Any]) -> list[str]:
    return [b["body"]["contents"][0]["text"] for b in message["contents"]["contents"]]


def drain(app) -> None:
    """Deliver the outbox to the emulator, as the worker does."""
    with app.app_context():
        from bot import worker
        from bot.gateway import gateway
        worker.drain(db.session, gateway())
