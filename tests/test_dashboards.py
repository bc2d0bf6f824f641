"""Aggregation of visits into rollups, against hand-computed expectations, on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from checkin import services
from cityhall.city import current_city
from cityhall.db import db
from cityhall.seed import seed
from dashboards.sqltime import offset_segments
from models import Resident
from models.household import Guardian, Household
from models.rollup import VisitChange
from models.visit import Visit
from residents.services import delete_registration
from tests.dashboards_support import add_family, at, center, run, snapshot, visit

D14, D15 = date(2024, 3, 14), date(2024, 3, 15)


@pytest.fixture
def city(app):
    with app.app_context(), db.transaction() as session:
        seed(session)
    return app


def arrange_story(app, aggregate_between: bool) -> None:
    """Visits with a late check-out, a birthday, a walk-in, a correction and an erasure."""
    steps = [_first_visit, _late_checkout, _second_day, _correct_time, _erase_registration,
             _mistaken_visit, _delete_mistake]
    for step in steps:
        with app.app_context(), db.transaction() as session:
            step(session)
        if aggregate_between:
            run(app)


def _first_visit(session) -> None:
    # 23:30 in Tokyo is 14:30 UTC: the visit belongs to the 14th, the day before the birthday.
    guardian = add_family(session, "Ua", [date(2023, 3, 15)])
    visit(session, guardian, at("2024-03-14 23:30"))


def _late_checkout(session) -> None:
    v = session.scalars(select(Visit).order_by(Visit.id)).first()
    services.check_out(session, v, at("2024-03-15 00:10"), "scan")


def _second_day(session) -> None:
    guardian = session.scalars(select(Guardian).order_by(Guardian.id)).first()
    v = visit(session, guardian, at("2024-03-15 10:00"))
    services.check_out(session, v, at("2024-03-15 11:30"), "scan")
    services.check_in_walk_in(session, center(session), "来館者", None,
                              [date(2021, 1, 1), date(2024, 1, 1)], at("2024-03-15 10:20"),
                              city=current_city())
    other = add_family(session, "Ub", [date(2017, 6, 1)], district="hachiya")
    visit(session, other, at("2024-03-15 15:00"))


def _correct_time(session) -> None:
    # Staff correct a check-in time by hand: the visit moves from 10:00 to 09:45.
    session.execute(update(Visit).where(Visit.checked_in_at == at("2024-03-15 10:00"))
                    .values(checked_in_at=at("2024-03-15 09:45")))


def _erase_registration(session) -> None:
    resident = session.scalars(select(Resident).where(Resident.line_user_id == "Ub")).one()
    delete_registration(session, resident)


def _mistaken_visit(session) -> None:
    services.check_in_walk_in(session, center(session, "east"), "誤り", "ota", [date(2022, 1, 1)],
                              at("2024-03-16 11:00"), city=current_city())


def _delete_mistake(session) -> None:
    session.execute(delete(Visit).where(Visit.walk_in_name == "誤り"))


EXPECTED = {
    "hourly": [
        # center, day, hour, weekday, visits, children, new, stays, stay seconds
        ("central", D14, 23, 3, 1, 1, 1, 1, 40 * 60),
        ("central", D15, 9, 4, 1, 1, 0, 1, 105 * 60),
        ("central", D15, 10, 4, 1, 2, 1, 0, 0),  # the walk-in, still inside
        ("central", D15, 15, 4, 1, 1, 1, 0, 0),  # ended by erasing the registration: no stay
    ],
    "district": [
        ("central", D14, "ota", 1, 1, 1),
        ("central", D15, "", 1, 2, 1),
        ("central", D15, "hachiya", 1, 1, 1),
        ("central", D15, "ota", 1, 1, 0),
    ],
    "age": [
        ("central", D14, 23, "0", 3, 1),  # 11 months on the 14th
        ("central", D15, 9, "1", 4, 1),  # 12 months on the birthday
        ("central", D15, 10, "0", 4, 1),
        ("central", D15, 10, "3-5", 4, 1),
        ("central", D15, 15, "6+", 4, 1),
    ],
}


def test_full_aggregation_matches_hand_computed_rollups(city):
    arrange_story(city, aggregate_between=False)
    result = run(city, full=True)
    assert result.full and snapshot(city) == EXPECTED


def test_incremental_runs_between_changes_equal_the_full_rebuild(city):
    arrange_story(city, aggregate_between=True)
    assert snapshot(city) == EXPECTED
    run(city, full=True)
    assert snapshot(city) == EXPECTED


def test_running_twice_changes_nothing(city):
    arrange_story(city, aggregate_between=False)
    run(city)
    first = snapshot(city)
    assert run(city).changes == 0
    assert snapshot(city) == first == EXPECTED
    run(city, full=True)
    run(city, full=True)
    assert snapshot(city) == EXPECTED


def test_every_write_to_visits_is_logged_even_a_foreign_key_action(city):
    with city.app_context(), db.transaction() as session:
        guardian = add_family(session, "Uc", [date(2022, 1, 1)])
        visit(session, guardian, at("2024-03-15 10:00"))
    run(city)
    with city.app_context(), db.transaction() as session:
        # Deleting the household sets visits.household_id to NULL inside the database.
        session.execute(delete(Guardian))
        session.execute(delete(Household))
    with city.app_context(), db.session() as session:
        assert session.scalar(select(Visit.household_id)) is None
        assert session.scalars(select(VisitChange.center_id)).all() != []


def test_a_backlog_of_changes_is_consumed_once(city):
    arrange_story(city, aggregate_between=False)
    assert run(city).changes > 0
    with city.app_context(), db.session() as session:
        assert session.scalars(select(VisitChange)).all() == []


def test_local_hours_follow_daylight_saving_time_visit_by_visit(city):
    city.config["CITYHALL_TIMEZONE"] = "America/New_York"
    zone = ZoneInfo("America/New_York")
    with city.app_context(), db.transaction() as session:
        guardian = add_family(session, "Ud", [date(2022, 1, 1)])
        for local in ("2024-03-09 23:30", "2024-03-10 01:30", "2024-03-10 03:30"):
            v = visit(session, guardian, at(local, zone))
            services.check_out(session, v, at(local, zone) + timedelta(minutes=20), "scan")
    run(city, full=True)
    hours = [(r[1], r[2]) for r in snapshot(city)["hourly"]]
    assert hours == [(date(2024, 3, 9), 23), (date(2024, 3, 10), 1), (date(2024, 3, 10), 3)]


def test_offset_segments_split_at_each_transition():
    zone = ZoneInfo("America/New_York")
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    segments = offset_segments(zone, start, end)
    assert [offset for _until, offset in segments] == [-5 * 3600, -4 * 3600, -5 * 3600]
    assert segments[0][0] == int(datetime(2024, 3, 10, 7, tzinfo=UTC).timestamp())
    assert offset_segments(ZoneInfo("Asia/Tokyo"), start, end) == [(None, 9 * 3600)]
