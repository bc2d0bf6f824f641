"""Segments against hand-computed counts: ages across birthdays and month ends in the city's
time zone, districts, visits, partners, blocked, erased and languages, on every backend."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, strategies as st
from sqlalchemy import select

from cityhall.db import db
from notices import segments, services
from notices.segments import SegmentContext, SegmentError, months_back
from residents import services as resident_services
from tests.conftest import process_env
from tests.notices_support import CITY, follower, guardian, seeded, visit

# 00:30 on 1 April in Tokyo, still 31 March in UTC: a child born on 1 April 2025 turns
# 12 months today in the city, though not yet in UTC.
NOW = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)


def age(birth: date, day: date) -> int:
    months = (day.year - birth.year) * 12 + day.month - birth.month
    return max(0, months - (1 if day.day < birth.day else 0))


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)), st.dates(date(2000, 1, 1), date(2030, 12, 31)),
       st.integers(0, 240))
def test_months_back_agrees_with_completed_months(birth, today, months):
    assume(birth <= today)  # a birth date ahead is refused at registration
    assert (birth <= months_back(today, months)) == (age(birth, today) >= months)


@pytest.fixture
def population(app):
    """The seeded city and a population whose every count is worked out by hand below."""
    seeded(app)
    ids = {}
    with app.app_context(), db.transaction() as session:
        a = guardian(session, district="ota", children=[date(2025, 4, 1)])          # 12 months today
        b = guardian(session, language="en", district="ota", partner_of=a)          # partner of a
        c = guardian(session, district="furui", children=[date(2025, 4, 2),         # 11 months
                                                          date(2024, 2, 29)])       # 25 months
        d = guardian(session, language="en", district="shimokoda", blocked=True,
                     children=[date(2026, 1, 31)])                                   # 2 months
        e = guardian(session, district="ota", children=[date(2020, 9, 15)])        # 66 months
        g = guardian(session, district="furui")                                     # no children
        f = follower(session, language="ko")                                        # not registered
        x = guardian(session, district="ota", children=[date(2025, 6, 1)])          # will be erased
        visit(session, c.household_id, "central", NOW - timedelta(days=10))
        visit(session, a.household_id, "east", NOW - timedelta(days=40))
        services.set_opt_out(session, session.get(type(f), g.resident_id), "news", True)
        resident_services.delete_registration(session, session.get(type(f), x.resident_id), NOW)
        ids = {"a": a.resident_id, "b": b.resident_id, "c": c.resident_id, "e": e.resident_id,
               "g": g.resident_id, "f": f.id, "x": x.resident_id, "d": d.resident_id}
    return ids


CASES = [
    ({"all": True}, {"a", "b", "c", "e", "g"}, 4),
    ({"followers": True}, {"a", "b", "c", "e", "g", "f"}, 4),
    ({"child_age_months": [0, 11]}, {"c"}, 1),
    ({"child_age_months": [12, 23]}, {"a", "b"}, 1),
    ({"child_age_months": [0, 23]}, {"a", "b", "c"}, 2),
    ({"child_age_months": [24, 35]}, {"c"}, 1),
    ({"child_age_months": [66, 66]}, {"e"}, 1),
    ({"districts": ["ota"]}, {"a", "b", "e"}, 2),
    ({"districts": ["ota", "furui"]}, {"a", "b", "c", "e", "g"}, 4),
    ({"visited_centers": ["central"]}, {"c"}, 1),
    ({"visited_centers": ["east"]}, set(), 0),
    ({"visited_centers": ["east"], "visited_within_days": 60}, {"a", "b"}, 1),
    ({"languages": ["en"]}, {"b"}, 1),
    ({"followers": True, "languages": ["ko"]}, {"f"}, 0),
    ({"districts": ["ota"], "child_age_months": [12, 23], "languages": ["ja"]}, {"a"}, 1),
]


@pytest.mark.parametrize(("segment", "expected", "households"), CASES,
                         ids=[str(c[0]) for c in CASES])
def test_a_segment_reaches_exactly_the_residents_worked_out_by_hand(
        app, population, segment, expected, households):
    ctx = SegmentContext(NOW, CITY)
    with app.app_context(), db.session() as session:
        found = set(session.scalars(segments.resident_ids(segments.parse(segment), ctx)))
        reach = segments.reach(session, segment, ctx)
    assert found == {population[k] for k in expected}
    assert (reach.residents, reach.households) == (len(expected), households)


def test_a_child_turning_twelve_months_today_counts_in_the_city_time_zone(app, population):
    # At 23:30 on 31 March in Tokyo the same child is still 11 months old.
    before = SegmentContext(NOW - timedelta(hours=1), CITY)
    with app.app_context(), db.session() as session:
        assert segments.count(session, {"child_age_months": [0, 11]}, before) == 3  # a, b, c
        assert segments.count(session, {"child_age_months": [12, 23]}, before) == 0


def test_a_topic_leaves_out_those_who_stopped_it(app, population):
    ctx = SegmentContext(NOW, CITY)
    with app.app_context(), db.session() as session:
        assert segments.count(session, {"all": True}, ctx, topic="news") == 4
        assert segments.count(session, {"all": True}, ctx, topic="events") == 5


def test_the_reach_samples_districts_and_ages_never_names(app, population):
    with app.app_context(), db.session() as session:
        reach = segments.reach(session, {"all": True}, SegmentContext(NOW, CITY))
    assert dict(reach.districts) == {"ota": 3, "furui": 2}
    assert dict(reach.ages) == {"0–11": 1, "12–23": 1, "24–35": 1, "60–71": 1}
    assert "保護者" not in str(reach.as_dict())


def test_evaluation_is_one_query(app, population):
    statements = []
    from sqlalchemy import event

    with app.app_context(), db.session() as session:
        engine = session.get_bind()
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            segments.count(session, {"child_age_months": [0, 23], "districts": ["ota", "furui"],
                                     "visited_centers": ["central"]},
                           SegmentContext(NOW, CITY), topic="news")
        finally:
            event.remove(engine, "before_cursor_execute", listen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


@pytest.mark.parametrize(("raw", "message"), [
    ("{", "not valid JSON"),
    ("[1]", "a JSON object"),
    ("{}", "empty segment"),
    ('{"everyone": true}', "unknown segment key 'everyone'"),
    ('{"all": false}', "all: must be true"),
    ('{"child_age_months": [12]}', "[MIN, MAX]"),
    ('{"child_age_months": [24, 12]}', "MIN <= MAX"),
    ('{"districts": []}', "non-empty list"),
    ('{"visited_within_days": 10}', "only goes with visited_centers"),
    ('{"resident_ids": [1]}', "unknown segment key 'resident_ids'"),
])
def test_a_bad_segment_says_what_is_wrong(raw, message):
    with pytest.raises(SegmentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        segments.parse(raw)


def test_an_unknown_district_is_named(app):
    seeded(app)
    with app.app_context(), db.session() as session, pytest.raises(SegmentError, match="nowhere"):
        segments.check_codes(session, {"districts": ["nowhere"]})


def test_another_feature_registers_a_criterion_without_notices_importing_it(app, population):
    from models.household import Guardian

    def builder(value, ctx):
        return select(Guardian.resident_id).where(Guardian.district_code == value)

    segments.register_criterion("district_of_test", builder, check=lambda v: None
                                if isinstance(v, str) else "must be a code")
    try:
        segments.register_criterion("district_of_test", builder)  # the same again: no-op
        with pytest.raises(ValueError, match="registered twice"):
            segments.register_criterion("district_of_test", lambda v, c: builder(v, c))
        with pytest.raises(SegmentError, match="must be a code"):
            segments.parse({"district_of_test": 3})
        with app.app_context(), db.session() as session:
            assert segments.count(session, {"district_of_test": "furui"},
                                  SegmentContext(NOW, CITY)) == 2
    finally:
        segments.unregister_criterion("district_of_test")


def test_the_cli_previews_the_number_of_residents_on_its_last_line(app, population, database_url):
    env = process_env(DATABASE_URL=database_url)
    out = subprocess.run([sys.executable, "-m", "cityhall", "notices", "preview", "--segment",
                          '{"districts": ["ota", "furui"]}'], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "5"
    languages = [line for line in out.stdout.splitlines() if line.startswith("language ")]
    assert sum(int(line.rsplit(" ", 1)[1]) for line in languages) == 5  # who reads what
    bad = subprocess.run([sys.executable, "-m", "cityhall", "notices", "preview", "--segment",
                          '{"districts": ["nowhere"]}'], env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0 and "unknown code 'nowhere'" in bad.stderr

