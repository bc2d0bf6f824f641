"""Races the database decides (run on PostgreSQL when CITYHALL_TEST_POSTGRES_URL is set):
two households for the last place, many for a few, an accept against the clock's timeout,
and the CHECK constraints that keep the places between zero and the capacity."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from cityhall.city import current_city
from cityhall.db import db
from events import services
from events.services import EventRefused
from models import Resident, utcnow
from models.event import Event, WaitlistEntry
from models.household import Guardian
from tests.events_support import event_row, household, make_event, reservations, waitlist
from tests.flows_helpers import seed_city

ROUNDS = 15


@pytest.fixture
def city(app):
    seed_city(app)
    return app


def guardian_ids(app, count: int) -> list[int]:
    """Make `count` households of one child each; return their guardians' ids."""
    ids = []
    for _ in range(count):
        user = "U" + uuid.uuid4().hex
        household(app, [user], [date(2024, 1, 20)])
        with app.app_context(), db.session() as session:
            ids.append(session.scalar(select(Guardian.id).join(
                Resident, Resident.id == Guardian.resident_id)
                .where(Resident.line_user_id == user)))
    return ids


def at_once(app, calls) -> list[object]:
    """Run each call(session) in its own transaction and thread, released together."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def work(n: int, call) -> None:
        with app.app_context():
            barrier.wait()
            try:
                with db.transaction() as session:
                    results[n] = call(session)
            except Exception as err:  # noqa: BLE001 (reported by the assertion)
                results[n] = err

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def booker(guardian_id: int, event_id: int):
    def call(session):
        guardian = session.get(Guardian, guardian_id)
        booking = services.reserve(session, event_id, guardian, None, utcnow(),
                                   city=current_city())
        return booking.kind
    return call


def test_two_households_for_the_last_place_get_one_reservation_and_one_waitlist_entry(city):
    app = city
    for _ in range(ROUNDS):
        event = make_event(app, capacity=1)
        first, second = guardian_ids(app, 2)
        kinds = at_once(app, [booker(first, event), booker(second, event)])
        assert sorted(kinds) == ["reserved", "waiting"], kinds
        assert event_row(app, event) == {"taken": 1, "capacity": 1, "reserved": 1, "waiting": 1,
                                         "cancelled": False}


def test_many_households_for_a_few_places_never_over_book(city):
    app = city
    event = make_event(app, capacity=3)
    guardians = guardian_ids(app, 10)
    kinds = at_once(app, [booker(g, event) for g in guardians])
    assert sorted(kinds) == ["reserved"] * 3 + ["waiting"] * 7, kinds
    row = event_row(app, event)
    assert row["taken"] == row["reserved"] == 3 and row["waiting"] == 7


def test_two_guardians_of_one_household_make_one_reservation(city):
    app = city
    event = make_event(app, capacity=5)
    users = ["Upartner" + "a" * 25, "Upartner" + "b" * 25]
    household(app, users, [date(2024, 1, 20)])
    with app.app_context(), db.session() as session:
        ids = list(session.scalars(select(Guardian.id).order_by(Guardian.id)))
    for _ in range(3):
        kinds = at_once(app, [booker(g, event) for g in ids])
        assert sorted(kinds) in (["already", "reserved"], ["already", "already"]), kinds
    assert len([r for r in reservations(app, event) if r["status"] == "reserved"]) == 1
    assert event_row(app, event)["taken"] == 1


def offered_entry(app) -> tuple[int, int, int]:
    """An event of one place held by an offer to a waiting household: (event, entry, household)."""
    event = make_event(app, capacity=1)
    holder, waiting = guardian_ids(app, 2)
    with app.app_context(), db.transaction() as session:
        booked = services.reserve(session, event, session.get(Guardian, holder), None, utcnow(),
                                  city=current_city())
        guardian = session.get(Guardian, waiting)
        services.reserve(session, event, guardian, None, utcnow(), city=current_city())
        services.cancel_reservation(session, booked.reservation.id,
                                    booked.reservation.household_id, utcnow(),
                                    city=current_city())
        entry = session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.event_id == event)).one()
        assert entry.status == "offered"
        return event, entry.id, guardian.household_id


def test_an_accept_racing_the_timeout_resolves_once(city):
    app = city
    outcomes = set()
    for _ in range(ROUNDS):
        event, entry_id, household_id = offered_entry(app)
        expires = waitlist(app, event)[0]["expires"]

        def accept(session, entry_id=entry_id, household_id=household_id):
            try:
                return services.accept_offer(session, entry_id, household_id,
                                             expires - timedelta(seconds=1)).id
            except EventRefused as refused:
                return refused.reason

        def expire(session):
            return services.expire_offers(session, expires, city=current_city())

        accepted, expired = at_once(app, [accept, expire])
        status = waitlist(app, event)[0]["status"]
        booked = [r for r in reservations(app, event) if r["status"] == "reserved"]
        if status == "accepted":
            assert expired == 0 and isinstance(accepted, int) and len(booked) == 1
            assert event_row(app, event)["taken"] == 1
        else:
            assert status == "expired" and expired == 1 and accepted == "offer_gone"
            assert booked == [] and event_row(app, event)["taken"] == 0
        outcomes.add(status)
    assert outcomes <= {"accepted", "expired"}


def test_the_database_refuses_places_below_zero_or_over_the_capacity(city):
    app = city
    event = make_event(app, capacity=2)
    for taken in (-1, 3):
        with app.app_context(), pytest.raises(IntegrityError), db.transaction() as session:
            session.execute(update(Event).where(Event.id == event).values(taken=taken))
    with app.app_context(), db.transaction() as session:
        assert services.take(session, event, 2) is True
        assert services.take(session, event, 1) is False
    assert event_row(app, event)["taken"] == 2


def test_lowering_the_capacity_below_the_places_taken_is_refused(city):
    app = city
    event = make_event(app, capacity=3)
    for guardian in guardian_ids(app, 2):
        with app.app_context(), db.transaction() as session:
            services.reserve(session, event, session.get(Guardian, guardian), None, utcnow(),
                             city=current_city())
    with app.app_context(), db.transaction() as session:
        with pytest.raises(EventRefused, match="capacity_below_taken"):
            services.update_event(session, session.get(Event, event), {"capacity": 1},
                                  utcnow(), city=current_city())
    with app.app_context(), db.transaction() as session:
        services.update_event(session, session.get(Event, event), {"capacity": 2}, utcnow(),
                              city=current_city())
    assert event_row(app, event)["capacity"] == 2


def test_the_event_segment_criterion_selects_every_guardian_of_reserved_households(city):
    app = city
    event = make_event(app, capacity=5)
    both = ["U" + uuid.uuid4().hex, "U" + uuid.uuid4().hex]
    household(app, both, [date(2024, 1, 20)])
    [other] = guardian_ids(app, 1)
    elsewhere = make_event(app, capacity=5, days=4)
    with app.app_context(), db.transaction() as session:
        first = session.scalars(select(Guardian).order_by(Guardian.id)).first()
        services.reserve(session, event, first, None, utcnow(), city=current_city())
        services.reserve(session, elsewhere, session.get(Guardian, other), None, utcnow(),
                         city=current_city())
    with app.app_context(), db.session() as session:
        ids = set(session.scalars(services.reservation_holders(event)))
        expected = set(session.scalars(select(Resident.id).where(Resident.line_user_id.in_(both))))
    assert ids == expected and len(ids) == 2
    assert services.check_event_id(event) is None
    assert services.check_event_id("3") and services.check_event_id(True)
