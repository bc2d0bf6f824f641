"""Services are plain functions of a Session: they run with no Flask app or request at all.

The city's settings (City) and the staff scope (Filters.departments) are passed in, so the
same calls work from the web, the worker, the clock and these tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.flows.schema import form_from_data
from checkin import services as checkin
from cityhall.city import City
from cityhall.db import make_engine
from cityhall.seed import seed
from dashboards import aggregate, queries
from models import Center, Department, Resident
from models.visit import Visit
from residents import applications
from tests.dashboards_support import add_family

TOKYO = City("Asia/Tokyo")
NEW_YORK = City("America/New_York")
ALL_DAY = {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NINE_TO_FIVE = {d: ["09:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
FORM = form_from_data({
    "id": "plain", "title": {"ja": "試験", "en": "Test"}, "department": "childcare",
    "receipt_prefix": "P", "fields": [{"id": "note", "type": "text", "required": False,
                                       "label": {"ja": "メモ", "en": "Note"},
                                       "prompt": {"ja": "メモ", "en": "Note"}}]}, "test")


@pytest.fixture
def session(database_url):
    """A seeded session on the test database, and no Flask app anywhere."""
    engine = make_engine(database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        seed(session)
        assert not has_app_context()
        yield session
    engine.dispose()


def center(session, code: str = "central") -> Center:
    return session.scalars(select(Center).where(Center.code == code)).one()


def test_city_reads_the_configuration_and_refuses_an_unknown_zone():
    city = City.from_config({"CITYHALL_TIMEZONE": "America/New_York", "FORM_EXPIRY_MINUTES": 90})
    assert city.timezone == "America/New_York" and city.form_expiry == timedelta(minutes=90)
    assert city.today(datetime(2026, 1, 1, 3, tzinfo=UTC)) == date(2025, 12, 31)
    assert city.at(date(2026, 1, 1), "24:00") == datetime(2026, 1, 2, 5, tzinfo=UTC)
    with pytest.raises(Exception, match="Mars/Olympus"):
        City("Mars/Olympus")


def test_opening_hours_are_read_in_the_city_passed_in(session):
    central = center(session)
    central.opening_hours = dict(NINE_TO_FIVE)
    central.closed_days = []
    moment = datetime(2026, 3, 2, 15, tzinfo=UTC)  # 00:00 in Tokyo, 10:00 in New York
    assert not checkin.is_open(central, moment, city=TOKYO)
    assert checkin.is_open(central, moment, city=NEW_YORK)
    assert checkin.closing_time(central, moment, city=NEW_YORK) == datetime(2026, 3, 2, 22,
                                                                            tzinfo=UTC)


def test_scan_check_in_and_auto_check_out_run_without_an_app(session):
    central = center(session)
    central.opening_hours = dict(NINE_TO_FIVE)
    central.closed_days = []
    guardian = add_family(session, "Uplain", [date(2022, 5, 3)])
    opened = datetime(2026, 3, 2, 15, tzinfo=UTC)  # 10:00 in New York
    result = checkin.scan(session, central, guardian, opened, city=NEW_YORK)
    assert result.kind == "in"
    assert [c.age_months for c in result.visit.children] == [45]
    ended = checkin.auto_check_out(session, opened + timedelta(hours=8), city=NEW_YORK)
    assert [v.id for v in ended] == [result.visit.id]
    assert ended[0].checked_out_at == datetime(2026, 3, 2, 22, tzinfo=UTC)  # 17:00 local


def test_walk_in_ages_use_the_local_day(session):
    # 2026-03-02 23:30 UTC is still March 2 in New York, already March 3 in Tokyo.
    moment = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    born = date(2025, 3, 3)
    ny = checkin.check_in_walk_in(session, center(session), "来館者", None, [born], moment,
                                  city=NEW_YORK)
    tokyo = checkin.check_in_walk_in(session, center(session, "east"), "来館者", None, [born],
                                     moment, city=TOKYO)
    assert [c.age_months for c in ny.children] == [11]
    assert [c.age_months for c in tokyo.children] == [12]


def test_aggregation_and_dashboard_queries_take_city_and_scope(session):
    central = center(session)
    central.opening_hours = dict(ALL_DAY)
    guardian = add_family(session, "Uagg", [date(2022, 1, 1)])
    moment = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # local day differs between the cities
    checkin.check_in(session, central, guardian, list(guardian.household.children), moment,
                     "poster", city=TOKYO)
    session.flush()
    aggregate.aggregate(session, moment, city=TOKYO)
    tokyo = queries.Filters((central,), date(2026, 3, 3), date(2026, 3, 3), city=TOKYO)
    assert queries.usage(session, tokyo)["visits"].tolist() == [1]
    aggregate.rebuild(session, moment, city=NEW_YORK)
    ny = queries.Filters((central,), date(2026, 3, 2), date(2026, 3, 2), city=NEW_YORK)
    assert queries.usage(session, ny)["visits"].tolist() == [1]
    assert session.scalar(select(Visit.id)) is not None


def test_applications_chart_keeps_to_the_departments_in_the_filters(session):
    form = FORM
    applicant = session.get(Resident, add_family(session, "Uapp", [date(2022, 1, 1)]).resident_id)
    moment = datetime(2026, 3, 2, 3, tzinfo=UTC)
    applications.submit_application(session, form, applicant, None, {}, moment, city=TOKYO)
    own = session.scalars(select(Department).where(Department.code == form.department)).one()
    other = session.scalars(select(Department).where(Department.code != form.department)).first()
    day = date(2026, 3, 2)

    def count(departments) -> int:
        f = queries.Filters((), day, day, city=TOKYO, departments=departments)
        return int(queries.applications(session, f, "en")["count"].sum())

    assert count(None) == 1                       # admins: every department
    assert count(frozenset({own.id})) == 1
    assert count(frozenset({other.id})) == 0
    assert count(frozenset()) == 0                # no scope given: nothing, never everything


def test_receipt_year_is_the_city_year(session):
    form = FORM
    applicant = session.get(Resident, add_family(session, "Uyear", [date(2022, 1, 1)]).resident_id)
    new_year_in_tokyo = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    first = applications.submit_application(session, form, applicant, None, {},
                                            new_year_in_tokyo, city=TOKYO)
    second = applications.submit_application(session, form, applicant, None, {},
                                             new_year_in_tokyo, city=NEW_YORK)
    assert first.receipt_no.split("-")[1] == "2027"
    assert second.receipt_no.split("-")[1] == "2026"


def test_every_dashboard_chart_computes_without_an_app(session):
    from dashboards.charts import CHARTS

    central = center(session)
    guardian = add_family(session, "Ucharts", [date(2022, 1, 1)])
    moment = datetime(2026, 3, 2, 1, tzinfo=UTC)
    checkin.check_in(session, central, guardian, list(guardian.household.children), moment,
                     "poster", city=TOKYO)
    aggregate.rebuild(session, moment, city=TOKYO)
    f = queries.Filters((central,), date(2026, 2, 1), date(2026, 3, 2), city=TOKYO,
                        departments=None)
    frames = {chart.slug: chart.build(session, f, "ja", moment)[0] for chart in CHARTS}
    assert frames["usage"]["visits"].sum() == 1
    assert frames["households"]["new"].sum() == 1
    assert frames["today"].set_index("center").loc[central.name("ja"), "today"] == 1
    assert frames["applications"].empty
