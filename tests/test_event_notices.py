"""Events plugged into notices: the segment key "event" and closure alerts reach the families
holding a reservation, without notices importing events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cityhall.city import current_city
from cityhall.db import db
from events import services
from models import Center, Resident, utcnow
from models.household import Guardian
from notices import services as notices
from notices.segments import SegmentContext, SegmentError, count, parse
from tests.events_support import household, make_event
from tests.flows_helpers import seed_city


@pytest.fixture
def city(app):
    seed_city(app)
    return app


def book(app, household_id: int, event_id: int) -> None:
    with app.app_context(), db.transaction() as session:
        guardian = session.scalars(select(Guardian).where(
            Guardian.household_id == household_id)).first()
        resident = session.get(Resident, guardian.resident_id)
        booking = services.reserve(session, event_id, guardian, resident, utcnow(),
                                   city=current_city())
        assert booking is not None


def test_the_event_key_counts_every_guardian_of_households_holding_a_reservation(city):
    born = [date.today() - timedelta(days=700)]
    pair = household(city, ["Upartner0000000000000000000000a1", "Upartner0000000000000000000000a2"],
                     born)
    single = household(city, ["Usingle00000000000000000000000b1"], born)
    household(city, ["Uother000000000000000000000000c1"], born)  # reserves nothing
    first, second = make_event(city, days=3), make_event(city, days=4)
    book(city, pair, first)
    book(city, single, second)
    with city.app_context(), db.transaction() as session:
        ctx = SegmentContext(utcnow(), current_city())
        assert count(session, {"event": first}, ctx) == 2  # both partners
        assert count(session, {"event": second}, ctx) == 1
        assert count(session, {"event": second, "districts": ["hachiya"]}, ctx) == 0
    with pytest.raises(SegmentError, match="event id"):
        parse({"event": "first"})


def test_a_closure_alert_reaches_families_with_a_reservation_there_that_day(city):
    born = [date.today() - timedelta(days=700)]
    booked = household(city, ["Ubooked0000000000000000000000001"], born)
    other_day = household(city, ["Uotherday00000000000000000000001"], born)
    household(city, ["Unothing000000000000000000000001"], born)
    that_day, next_day = make_event(city, days=3), make_event(city, days=4)
    book(city, booked, that_day)
    book(city, other_day, next_day)
    with city.app_context(), db.transaction() as session:
        town = current_city()
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        day = town.today(utcnow()) + timedelta(days=3)
        notice = notices.close_center(session, center, day, "停電のため", utcnow(), town)
        reached = notices.reach(session, notice, utcnow(), town)
    assert reached.residents == 1  # the family booked that day; no one visited recently
