"""Events' demo data: past events with attendance and waitlists, upcoming ones about half
full, one full with a waitlist; the numbers stay within every capacity."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from cityhall.city import City, current_city
from cityhall.db import db
from events import demo, services
from models import utcnow
from models.event import Event, Reservation, WaitlistEntry
from tests.events_support import household
from tests.flows_helpers import seed_city


@dataclass
class Context:
    """The demo-data hook's context, as `cityhall demo-data` hands it to a feature."""

    session: object
    now: datetime
    city: City
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)


def test_demo_events_have_a_past_a_half_full_future_and_a_waitlist(app):
    seed_city(app)
    rng = random.Random(3)
    today = date.today()
    for n in range(60):
        births = [today - timedelta(days=rng.randint(30, 6 * 365))
                  for _ in range(rng.choice((1, 1, 2)))]
        household(app, [f"Udemo{n:028d}"], births)
    with app.app_context(), db.transaction() as session:
        context = Context(session, utcnow(), current_city())
        demo.demo_data(context)
    assert "past and" in context.notes[0]
    with app.app_context(), db.session() as session:
        now = utcnow()
        events = session.scalars(select(Event)).all()
        past = [e for e in events if e.starts_at < now]
        upcoming = [e for e in events if e.starts_at >= now]
        assert past and upcoming
        for event in events:
            assert 0 <= event.taken <= event.capacity
            assert services.reserved_count(session, event.id) == event.taken or \
                event.starts_at >= now
        attended = session.scalars(select(Reservation).where(
            Reservation.attended_at.is_not(None))).all()
        assert attended
        unmet = session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.status == "unmet")).all()
        assert unmet
        full = [e for e in upcoming if e.taken == e.capacity
                and services.waiting_count(session, e.id) > 0]
        assert full
        half = [e for e in upcoming if 0 < e.taken < e.capacity]
        assert half
