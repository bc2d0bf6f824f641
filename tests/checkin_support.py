"""Builders for the check-in tests: open centers, families in the database, scanned texts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from checkin import qr, services, tokens
from cityhall.city import current_city
from cityhall.db import db
from models import Center, Resident, utcnow
from models.center import WEEKDAYS, CheckinMode
from models.household import Child, Guardian, Household
from models.visit import Visit

ALL_DAY = {day: ["00:00", "24:00"] for day in WEEKDAYS}


def center_update(app, code: str, **values: Any) -> None:
    """Change a center's fields (hours, closed days, mode)."""
    with app.app_context(), db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == code)).one()
        for key, value in values.items():
            setattr(center, key, value)


def open_all_day(app, *codes: str) -> None:
    """Open centers around the clock, so a test never depends on the hour it runs at."""
    for code in codes or ("central", "east", "west"):
        center_update(app, code, opening_hours=dict(ALL_DAY), closed_days=[])


def scan_text(app, code: str = "central", now: datetime | None = None) -> str:
    """Return the text a scan of the center's current code sends."""
    with app.app_context(), db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == code)).one()
        return qr.scan_text(services.current_token(session, center, now or utcnow()))


def kiosk_text(app, code: str, now: datetime) -> str:
    with app.app_context():
        return qr.scan_text(tokens.kiosk_token(code, now))


def family(app, user_ids: list[str], children: int = 1, district: str = "ota") -> int:
    """Register guardians (one per LINE user) sharing one household; return the household id."""
    births = [date(2022, 5, 3), date(2024, 1, 20), date(2020, 9, 9)]
    with app.app_context(), db.transaction() as session:
        household = Household(created_at=utcnow())
        session.add(household)
        for n, user_id in enumerate(user_ids):
            resident = Resident(line_user_id=user_id, language="ja", language_chosen=True)
            session.add(resident)
            session.flush()
            session.add(Guardian(resident_id=resident.id, household=household,
                                 name=f"保護者{n + 1}", kana="ホゴシャ", phone=f"0901234000{n}",
                                 postal_code="505-0041", address="太田町1", district_code=district,
                                 consented_at=utcnow()))
        for n in range(children):
            session.add(Child(household=household, name=f"子ども{n + 1}", kana="コドモ",
                              birth_date=births[n]))
        session.flush()
        return household.id


def visits(app, household_id: int | None = None) -> list[dict[str, Any]]:
    """Return the visits (of a household) as plain data, oldest first."""
    with app.app_context(), db.transaction() as session:
        query = select(Visit).order_by(Visit.id)
        if household_id is not None:
            query = query.where(Visit.household_id == household_id)
        return [{"id": v.id, "center": session.get(Center, v.center_id).code,
                 "household_id": v.household_id, "in": v.checked_in_at, "out": v.checked_out_at,
                 "how": v.checkout_method, "method": v.method, "district": v.district_code,
                 "ages": [c.age_months for c in v.children], "first": v.first_visit,
                 "walk_in": v.walk_in_name, "child_ids": [c.child_id for c in v.children]}
                for v in session.scalars(query)]


def shift_visits(app, delta: timedelta) -> None:
    """Move every visit's times into the past, as if the family came earlier."""
    with app.app_context(), db.transaction() as session:
        for visit in session.scalars(select(Visit)):
            visit.checked_in_at -= delta
            if visit.checked_out_at:
                visit.checked_out_at -= delta
                for child in visit.children:
                    child.checked_out_at = visit.checked_out_at


def set_mode(app, code: str, mode: CheckinMode) -> None:
    center_update(app, code, checkin_mode=mode)


def local_today(app) -> date:
    with app.app_context():
        return current_city().today(utcnow())
