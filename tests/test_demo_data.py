"""`cityhall demo-data`: a fresh database becomes a living city with the Minokamo shape.

Small sizes keep these quick: 40 households over 18 months still give about two thousand
visits, enough for the shape (Wednesday peak, fewer babies than toddlers) to be unmistakable.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cityhall import config as settings
from cityhall import create_app
from cityhall.city import City, current_city
from cityhall.cli import main
from cityhall.db import db
from cityhall.demo import prepare_database
from cityhall.demodata import DemoContext, load, months_before
from cityhall.features import DEFAULT_FEATURES, Feature, current
from cityhall.languages import language_names
from models import District, Resident, utcnow
from models.application import StatusChange, Submission, SubmissionStatus
from models.demo import DemoDataLoad
from models.household import Child, Guardian, Household
from models.rollup import AgeUsage, DistrictUsage, HourlyUsage
from models.survey import SurveyAnswer
from models.visit import Visit, VisitChild
from residents.services import delete_registration
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, process_env
from tests.dashboards_support import add_family
from tests.flows_helpers import query
from tests.staff_support import StaffClient, seed_staff
from tests.test_erasure import leftovers, resident_links

SMALL = ["--households", "40", "--months", "18", "--seed", "7"]


def demo_data(app, *args: str):
    """Run `cityhall demo-data` on the app's database; return the CLI result."""
    return app.test_cli_runner().invoke(main, ["demo-data", *args])


def counts(app) -> dict[str, int]:
    tables = (Resident, Household, Guardian, Child, Visit, VisitChild, Submission, StatusChange,
              SurveyAnswer)
    return query(app, lambda s: {t.__tablename__: s.scalar(select(func.count()).select_from(t))
                                 for t in tables})


@pytest.fixture
def city(app):
    seed_staff(app)
    return app


def test_a_fresh_database_becomes_a_living_city(city):
    result = demo_data(city, *SMALL)
    assert result.exit_code == 0, result.output
    assert "loaded for: residents, checkin, dashboards" in result.output
    town = City.from_config(city.config)
    zone, today = town.zone, town.today(utcnow())

    def shape(s):
        local = [(v.checked_in_at.astimezone(zone), v.checked_out_at, v.first_visit,
                  v.household_id) for v in s.scalars(select(Visit))]
        ages = list(s.scalars(select(VisitChild.age_months)))
        births = list(s.scalars(select(Child.birth_date)))
        return {
            "households": s.scalar(select(func.count()).select_from(Household)),
            "districts": set(s.scalars(select(District.code))),
            "used": set(s.scalars(select(Guardian.district_code))),
            "partners": s.scalar(select(func.count()).select_from(Guardian)) - 40,
            "languages": set(s.scalars(select(Resident.language))),
            "births": births, "ages": ages, "visits": local,
            "statuses": set(s.scalars(select(Submission.status))),
            "returned": list(s.scalars(select(StatusChange.comment).where(
                StatusChange.status == SubmissionStatus.RETURNED))),
            "rollups": [s.scalar(select(func.coalesce(func.sum(m), 0))) for m in (
                HourlyUsage.visits, DistrictUsage.visits, AgeUsage.children)],
        }

    got = query(city, shape)
    assert got["households"] == 40 and got["partners"] > 0
    assert got["used"] == got["districts"]  # every district has families
    assert "ja" in got["languages"] and got["languages"] <= set(language_names()) \
        and len(got["languages"]) > 1
    assert all(timedelta(0) <= today - b < timedelta(days=7 * 365) for b in got["births"])
    # Fewer 0-1-year-olds than 2-3-year-olds come to the centers.
    assert sum(a < 24 for a in got["ages"]) < sum(24 <= a < 48 for a in got["ages"])
    ended = [v for v in got["visits"] if v[1] is not None]
    by_weekday = Counter(when.weekday() for when, *_ in ended)
    assert by_weekday.most_common(1)[0][0] == 2 and by_weekday[6] == 0  # Wednesday; no Sunday
    assert all(9 <= when.hour < 16 for when, *_ in ended)
    days = sorted(when.date() for when, *_ in got["visits"])
    assert days[0] - months_before(today, 18) < timedelta(days=4) and days[-1] == today
    assert any(v[1] is None for v in got["visits"])  # some families are inside now
    registered = [v for v in got["visits"] if v[3] is not None]
    assert {v[2] for v in registered} == {True, False}  # new and returning families
    assert got["statuses"] == set(SubmissionStatus)
    assert got["returned"] and all(got["returned"])  # a returned request says why
    assert got["rollups"][0] == len(got["visits"]) and all(got["rollups"])


def test_the_dashboards_show_the_demo_data_and_a_forecast(city):
    assert demo_data(city, *SMALL).exit_code == 0
    client = StaffClient(city)
    assert client.login("central").status_code == 302
    usage = client.get("/staff/api/dashboards/usage").get_json()
    assert usage["rows"] and sum(row[1] for row in usage["rows"]) > 0
    forecast = client.get("/staff/api/dashboards/forecast").get_json()
    assert forecast["rows"]  # the last twelve weeks had visits to learn from


def test_a_second_run_adds_nothing(city):
    assert demo_data(city, *SMALL).exit_code == 0
    before = counts(city)
    again = demo_data(city, *SMALL)
    assert again.exit_code == 0
    assert "already loaded before, left as they are: residents, checkin, dashboards" in again.output
    assert counts(city) == before


def test_a_database_with_its_own_registrations_is_refused(city):
    with city.app_context(), db.transaction() as session:
        add_family(session, "U" + "1" * 32, [utcnow().date() - timedelta(days=400)])
    before = counts(city)
    result = demo_data(city, *SMALL)
    assert result.exit_code == 1
    assert "already holds 1 registered households and no demo data" in result.output
    assert counts(city) == before


def test_the_same_seed_gives_the_same_data(city, tmp_path, sqlite_template, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("one backend is enough to compare two databases")
    now = "2026-06-10T20:00:00+09:00"
    path = tmp_path / "second.sqlite3"
    shutil.copy(sqlite_template, path)
    twin = create_app(settings.TestingConfig(DATABASE_URL=f"sqlite:///{path}"))
    seed_staff(twin)

    def snapshot(s):
        return ([(g.name, g.kana, g.phone, g.address) for g in s.scalars(select(Guardian))],
                [(c.name, c.birth_date, c.notes) for c in s.scalars(select(Child))],
                [(v.center_id, v.checked_in_at, v.checked_out_at) for v in s.scalars(select(Visit))],
                [(x.receipt_no, x.status, x.answers) for x in s.scalars(select(Submission))])

    for app in (city, twin):
        assert demo_data(app, "--households", "12", "--months", "3", "--now", now).exit_code == 0
    assert query(city, snapshot) == query(twin, snapshot)
    twin.extensions["cityhall.db"][0].dispose()


def test_a_demo_household_is_erased_like_any_other(city):
    assert demo_data(city, "--households", "12", "--months", "6").exit_code == 0

    def applicant(s):
        submission = s.scalars(select(Submission).where(Submission.form_id == "childcare")
                               .order_by(Submission.id)).first()
        guardian = s.scalars(select(Guardian).where(
            Guardian.household_id == submission.household_id)).first()
        return guardian.resident_id, guardian.household_id, [guardian.phone, guardian.address]

    resident_id, household_id, needles = query(city, applicant)
    assert leftovers(city, needles, b"\x00never") != []
    with city.app_context(), db.transaction() as session:
        assert delete_registration(session, session.get(Resident, resident_id), utcnow())
        remaining = session.scalars(select(Guardian).where(
            Guardian.household_id == household_id)).all()
        for partner in remaining:  # the partner erases too, so the household goes
            delete_registration(session, session.get(Resident, partner.resident_id), utcnow())
    assert leftovers(city, needles, b"\x00never") == []
    assert resident_links(city, resident_id) == []
    kept = query(city, lambda s: s.scalar(select(func.count()).select_from(Visit).where(
        Visit.household_id.is_(None), Visit.walk_in_name.is_(None))))
    assert kept > 0  # the erased family's visits stay for statistics, unlinked
    assert query(city, lambda s: s.get(Household, household_id)) is None


@pytest.fixture
def toy(database_url, emulator_server, line):
    """The default features plus a toy whose demo data records what it saw."""
    calls: list[dict] = []

    def toy_demo(ctx: DemoContext) -> None:
        calls.append({"visits": ctx.session.scalar(select(func.count()).select_from(Visit)),
                      "feature": ctx.feature, "households": ctx.households})
        ctx.note("one toy")

    feature = Feature("toy", requires=("checkin",), demo_data=toy_demo)

    def build(features):
        return create_app(settings.TestingConfig(
            DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
            LINE_DATA_API_BASE_URL=emulator_server.url, LINE_CHANNEL_SECRET=CHANNEL_SECRET,
            LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN, CITYHALL_FEATURES=features))

    return calls, feature, build


def test_a_feature_added_later_gets_its_demo_data_once_after_the_others(toy):
    calls, feature, build = toy
    plain = build(list(DEFAULT_FEATURES))
    seed_staff(plain)
    assert demo_data(plain, "--households", "8", "--months", "2").exit_code == 0
    with_toy = build([*DEFAULT_FEATURES, feature])
    result = demo_data(with_toy, "--households", "8", "--months", "2")
    assert result.exit_code == 0, result.output
    assert "toy: one toy" in result.output and "loaded for: toy" in result.output
    assert len(calls) == 1 and calls[0]["visits"] > 0 and calls[0]["feature"] == "toy"
    assert demo_data(with_toy).exit_code == 0
    assert len(calls) == 1  # never twice
    for app in (plain, with_toy):
        app.extensions["cityhall.db"][0].dispose()


def test_demo_data_hooks_run_in_load_order(toy):
    calls, feature, build = toy
    app = build([*DEFAULT_FEATURES, feature])
    seed_staff(app)
    with app.app_context():
        names = [f.name for f in current().features if f.demo_data is not None]
        assert names == ["residents", "checkin", "dashboards", "notices", "events", "reports", "toy"]
        with db.transaction() as session:
            outcome = load(session, current().features, now=utcnow(), city=current_city(),
                           households=5, months=1)
    assert outcome.loaded == names and calls[0]["visits"] > 0
    app.extensions["cityhall.db"][0].dispose()


def test_two_runs_at_once_load_the_data_once(city):
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run() -> None:
        try:
            with city.app_context():
                barrier.wait(5)
                with db.transaction() as session:
                    outcomes.append(load(session, current().features, now=utcnow(),
                                         city=current_city(), households=6, months=1))
        except Exception as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with city.app_context():
        hooks = len([f for f in current().features if f.demo_data])
    assert sorted(len(o.loaded) for o in outcomes) == [0, hooks]
    assert query(city, lambda s: (s.scalar(select(func.count()).select_from(Household)),
                                  s.scalar(select(func.count()).select_from(DemoDataLoad)))) \
        == (6, hooks)


def test_without_seeded_districts_it_says_what_to_run(app):
    result = demo_data(app, "--households", "3")
    assert result.exit_code == 1 and "run `cityhall seed` first" in result.output
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(DemoDataLoad))) == 0



def test_cityhall_demo_prepares_a_fresh_database_with_the_demo_data(app, database_url, capfd):
    if not database_url.startswith("sqlite"):
        pytest.skip("the demo's wiring, not the backend: three processes are slow enough once")
    prepare_database(process_env(DATABASE_URL=database_url))
    assert "demo data (synthetic) loaded for: residents, checkin, dashboards" in capfd.readouterr().out
    loaded = counts(app)
    assert loaded["households"] == 300 and loaded["visits"] > 0
