"""Events' demo data through `cityhall demo-data`'s loader: past events with attendance and
waitlists, upcoming ones about half full, one full with a waitlist; within every capacity."""

from __future__ import annotations

from sqlalchemy import select

from cityhall.city import current_city
from cityhall.db import db
from cityhall.demodata import load
from cityhall.features import current
from events import services
from models import utcnow
from models.event import Event, Reservation, WaitlistEntry
from tests.flows_helpers import seed_city


def test_demo_events_have_a_past_a_half_full_future_and_a_waitlist(app):
    seed_city(app)
    with app.app_context(), db.transaction() as session:
        outcome = load(session, current().features, now=utcnow(), city=current_city(),
                       households=80, months=3)
    assert "events" in outcome.loaded
    assert any("past and" in note and "upcoming events" in note for note in outcome.notes)
    with app.app_context(), db.session() as session:
        now = utcnow()
        events = session.scalars(select(Event)).all()
        past = [e for e in events if e.starts_at < now]
        upcoming = [e for e in events if e.starts_at >= now]
        assert past and upcoming
        for event in events:
            assert 0 <= event.taken <= event.capacity
            assert services.reserved_count(session, event.id) <= event.taken
        assert session.scalars(select(Reservation).where(
            Reservation.attended_at.is_not(None))).first() is not None
        assert session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.status == "unmet")).first() is not None
        assert [e for e in upcoming if e.taken == e.capacity
                and services.waiting_count(session, e.id) > 0]
        assert [e for e in upcoming if 0 < e.taken < e.capacity]
