"""Builders for the dashboard tests: families, visits at given local times, rollup snapshots."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from checkin import services
from cityhall.city import current_city
from cityhall.db import db
from dashboards import aggregate
from models import Center, Resident, utcnow
from models.household import Child, Guardian, Household
from models.rollup import AgeUsage, DistrictUsage, HourlyUsage

TOKYO = ZoneInfo("Asia/Tokyo")


def at(text: str, zone: ZoneInfo = TOKYO) -> datetime:
    """Return a local wall-clock time ("2024-03-14 23:30") as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def center(session, code: str = "central") -> Center:
    return session.scalars(select(Center).where(Center.code == code)).one()


def add_family(session, user_id: str, births: list[date], district: str = "ota") -> Guardian:
    """Register one guardian with children born on these dates."""
    resident = Resident(line_user_id=user_id, language="ja", language_chosen=True)
    household = Household(created_at=utcnow())
    session.add_all([resident, household])
    session.flush()
    guardian = Guardian(resident_id=resident.id, household=household, name="保護者", kana="ホゴシャ",
                        phone="09012340000", postal_code="505-0041", address="太田町1",
                        district_code=district, consented_at=utcnow())
    session.add(guardian)
    for n, birth in enumerate(births):
        session.add(Child(household=household, name=f"子{n}", kana="コ", birth_date=birth))
    session.flush()
    return guardian


def visit(session, guardian: Guardian, when: datetime, code: str = "central"):
    """Check a family in with all its children at a moment."""
    return services.check_in(session, center(session, code), guardian,
                             list(guardian.household.children), when, "poster",
                             city=current_city())[0]


def run(app, full: bool = False, now: datetime | None = None) -> aggregate.Result:
    """Run the aggregation in its own transaction."""
    with app.app_context(), db.transaction() as session:
        return (aggregate.rebuild if full else aggregate.aggregate)(session, now or utcnow(),
                                                                    city=current_city())


def snapshot(app) -> dict[str, list[tuple]]:
    """Return every rollup row as plain tuples, sorted."""
    tables = {"hourly": (HourlyUsage, ("day", "hour", "weekday", "visits", "children",
                                       "new_visits", "stays", "stay_seconds")),
              "district": (DistrictUsage, ("day", "district_code", "visits", "children",
                                           "new_visits")),
              "age": (AgeUsage, ("day", "hour", "age_band", "weekday", "children"))}
    with app.app_context(), db.session() as session:
        codes = {c.id: c.code for c in session.scalars(select(Center))}
        return {name: sorted((codes[r.center_id], *(getattr(r, col) for col in cols))
                             for r in session.scalars(select(model)))
                for name, (model, cols) in tables.items()}
