"""The local day, hour and age-band counts stored on visits agree with computing them.

Triggers (migration 0015) keep them on every write path: a scan, a check-out, staff checking
a family in and out by hand, corrections of a time, a center or a child's age by plain SQL,
erasure of a registration; the aggregation restamps every visit when the city's zone changes.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select, update

import migrations
from checkin import services
from cityhall.city import current_city
from cityhall.config import normalize_database_url
from cityhall.db import db
from cityhall.seed import seed
from dashboards.aggregate import BAND_COLUMNS
from dashboards.services import age_band
from models import Resident
from models.household import Guardian
from models.rollup import UtcOffset, VisitChange
from models.visit import Visit, VisitChild
from residents.services import delete_registration
from tests.dashboards_support import TOKYO, add_family, at, center, run, visit
from tests.test_survey import empty_database  # noqa: F401  (a fixture: a database with no tables)

BANDS = ("0", "1", "2", "3-5", "6+")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def city(app):
    with app.app_context(), db.transaction() as session:
        seed(session)
    return app


def stored(session) -> dict[int, tuple]:
    """Every visit's stored (local day, hour, children per band, children, stay)."""
    return {v.id: (v.local_day, v.local_hour, tuple(getattr(v, c.key) for c in BAND_COLUMNS),
                   v.children_count, v.stay_seconds)
            for v in session.scalars(select(Visit).execution_options(populate_existing=True))}


def computed(session, zone: ZoneInfo) -> dict[int, tuple]:
    """The same, computed here from the check-in time and the children's ages."""
    ages: dict[int, list[int]] = {}
    for visit_id, months in session.execute(select(VisitChild.visit_id, VisitChild.age_months)):
        ages.setdefault(visit_id, []).append(months)
    result = {}
    for v in session.scalars(select(Visit)):
        local = v.checked_in_at.astimezone(zone)
        bands = [age_band(m) for m in ages.get(v.id, [])]
        stay = (math.floor(v.checked_out_at.timestamp()) - math.floor(v.checked_in_at.timestamp())
                if v.checked_out_at and v.checkout_method != "erased" else None)
        result[v.id] = (local.date(), local.hour, tuple(bands.count(b) for b in BANDS),
                        len(bands), stay)
    return result


def check(app, zone: ZoneInfo = TOKYO) -> dict[int, tuple]:
    with app.app_context(), db.session() as session:
        found, expected = stored(session), computed(session, zone)
    assert found == expected
    return found


def test_every_edit_of_a_visit_keeps_its_stored_local_time_and_bands_in_tokyo(city):
    # Ages on 2024-03-15: 11 months, 12 months (a birthday), 2, 4 and 7 years.
    births = [date(2023, 4, 1), date(2023, 3, 15), date(2022, 1, 1), date(2019, 12, 1),
              date(2016, 6, 1)]
    with city.app_context(), db.transaction() as session:
        guardian = add_family(session, "Us1", births)
        # 00:30 in Tokyo is 15:30 UTC the day before: the stored day is Tokyo's.
        v = visit(session, guardian, at("2024-03-15 00:30"))
    assert check(city)[v.id] == (date(2024, 3, 15), 0, (1, 1, 1, 1, 1), 5, None)
    with city.app_context(), db.transaction() as session:
        services.check_out(session, session.get(Visit, v.id), at("2024-03-15 01:00"), "scan")
        services.check_in_walk_in(session, center(session), "来館者", "ota",
                                  [date(2024, 1, 1), date(2021, 1, 1)], at("2024-03-15 23:59"),
                                  city=current_city())
    check(city)
    with city.app_context(), db.transaction() as session:  # staff, by hand
        family = session.scalars(select(Guardian).join(Resident).where(
            Resident.line_user_id == "Us1")).one()
        by_staff, _moved = services.check_in_by_staff(session, center(session, "east"), family,
                                                      at("2024-03-16 09:15"), city=current_city())
        services.check_out_by_staff(session, by_staff, at("2024-03-16 10:00"),
                                    city=current_city())
    check(city)
    with city.app_context(), db.transaction() as session:
        # Corrections by plain SQL: a time across local midnight, a center, a child's age,
        # a child moved to another visit, a child removed.
        session.execute(update(Visit).where(Visit.id == v.id)
                        .values(checked_in_at=at("2024-03-14 23:50")))
        session.execute(update(Visit).where(Visit.id == by_staff.id)
                        .values(center_id=center(session).id))
        first = session.scalars(select(VisitChild).where(VisitChild.visit_id == v.id)
                                .order_by(VisitChild.id)).first()
        session.execute(update(VisitChild).where(VisitChild.id == first.id).values(age_months=30))
        moved = session.scalars(select(VisitChild).where(VisitChild.visit_id == v.id)
                                .order_by(VisitChild.id.desc())).first()
        session.execute(update(VisitChild).where(VisitChild.id == moved.id)
                        .values(visit_id=by_staff.id))
        session.execute(delete(VisitChild).where(VisitChild.visit_id == by_staff.id,
                                                 VisitChild.id != moved.id).execution_options(
            synchronize_session=False))
    after = check(city)
    assert after[v.id][:2] == (date(2024, 3, 14), 23)
    assert after[by_staff.id][2:] == ((0, 0, 0, 0, 1), 1, 45 * 60)  # the child moved onto it
    assert after[v.id][4] == 70 * 60  # checked in 20 minutes earlier: a longer stay
    with city.app_context(), db.transaction() as session:  # erasure, and a deleted visit
        guardian = add_family(session, "Us2", [date(2020, 5, 5)])
        visit(session, guardian, at("2024-03-17 12:00"))
        delete_registration(session, session.scalars(
            select(Resident).where(Resident.line_user_id == "Us2")).one())
        session.execute(delete(Visit).where(Visit.walk_in_name == "来館者"))
    check(city)
    with city.app_context(), db.session() as session:
        # Tokyo has no daylight saving time: one offset, for ever.
        assert session.execute(select(UtcOffset.offset_seconds, UtcOffset.timezone)).all() == [
            (9 * 3600, "Asia/Tokyo")]


def test_updating_only_the_stored_columns_is_not_logged_as_a_change(city):
    with city.app_context(), db.transaction() as session:
        visit(session, add_family(session, "Us3", [date(2022, 1, 1)]), at("2024-03-15 10:00"))
    run(city)
    with city.app_context(), db.transaction() as session:
        session.execute(update(Visit).values(local_hour=Visit.local_hour))
    with city.app_context(), db.session() as session:
        assert session.scalars(select(VisitChange)).all() == []


def test_a_changed_time_zone_restamps_every_visit_and_later_visits_follow_it(city):
    with city.app_context(), db.transaction() as session:
        guardian = add_family(session, "Us4", [date(2022, 1, 1)])
        for local in ("2024-03-09 23:30", "2024-03-10 08:00"):
            services.check_out(session, visit(session, guardian, at(local)),
                               at(local) + timedelta(minutes=20), "scan")
    check(city, TOKYO)
    city.config["CITYHALL_TIMEZONE"] = "America/New_York"
    result = run(city)  # the clock's incremental run notices and rebuilds
    assert result.full
    check(city, NEW_YORK)
    with city.app_context(), db.transaction() as session:
        guardian = add_family(session, "Us5", [date(2022, 1, 1)])
        # Around New York's spring-forward night: 01:30 EST, then 03:30 EDT.
        for local in ("2024-03-10 01:30", "2024-03-10 03:30", "2024-11-03 01:30"):
            services.check_out(session, visit(session, guardian, at(local, NEW_YORK)),
                               at(local, NEW_YORK) + timedelta(minutes=20), "scan")
    hours = check(city, NEW_YORK)
    assert sorted(h[:2] for h in hours.values())[-3:] == [
        (date(2024, 3, 10), 1), (date(2024, 3, 10), 3), (date(2024, 11, 3), 1)]
    assert not run(city).full  # the zone matches now: an ordinary incremental run
    city.config["CITYHALL_TIMEZONE"] = "Asia/Tokyo"
    assert run(city, full=True).full
    check(city, TOKYO)


def test_the_migration_backfills_existing_visits(empty_database, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CITYHALL_TIMEZONE", "Asia/Tokyo")
    url = empty_database
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    migrations.upgrade(url, script.get_revision("0018_visit_local_time").down_revision)
    engine = sa.create_engine(normalize_database_url(url))
    utc = "+00" if engine.dialect.name == "postgresql" else ""  # SQLite stores UTC, naive
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO centers (id, code, name_ja, name_en) "
                             "VALUES (1, 'c', 'センター', 'Center')"))
        conn.execute(sa.text(
            "INSERT INTO visits (id, center_id, method, first_visit, checked_in_at, "
            "checked_out_at, checkout_method) VALUES (1, 1, 'poster', false, :a, :a_out, "
            "'erased'), (2, 1, 'poster', false, :b, :b_out, 'scan')"),
            {"a": "2024-03-14 15:30:00" + utc, "a_out": "2024-03-14 16:00:00" + utc,
             "b": "2024-03-15 01:05:00" + utc, "b_out": "2024-03-15 01:30:00" + utc})
        conn.execute(sa.text("INSERT INTO visit_children (visit_id, age_months) VALUES "
                             "(1, 5), (1, 40), (1, 41), (2, 90)"))
    migrations.upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, CAST(local_day AS VARCHAR(10)), local_hour, children_0, children_1, "
            "children_2, children_3_5, children_6_up, children_count, stay_seconds FROM visits "
            "ORDER BY id")).all()
    engine.dispose()
    # 15:30 UTC on the 14th is 00:30 on the 15th in Tokyo.
    assert [tuple(r) for r in rows] == [(1, "2024-03-15", 0, 1, 0, 0, 2, 0, 3, None),
                                        (2, "2024-03-15", 10, 0, 0, 0, 0, 1, 1, 1500)]
