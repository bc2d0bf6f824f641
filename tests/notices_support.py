"""Builders for the notices tests: residents, households and children in a few lines."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cityhall.city import City
from cityhall.db import db
from cityhall.seed import seed
from models import Center, Resident, utcnow
from models.household import Guardian
from models.visit import Visit
from notices.settings import NoticeSettings
from residents import services as resident_services

CITY = City("Asia/Tokyo")
_numbers = itertools.count(1)


def uid(n: int | None = None) -> str:
    """Return a LINE-shaped user id."""
    return f"U{(n if n is not None else next(_numbers)) + 10**6:032x}"


def follower(session, user_id: str | None = None, language: str = "ja",
             blocked: bool = False) -> Resident:
    resident = Resident(line_user_id=user_id or uid(), language=language, language_chosen=True,
                        blocked=blocked, followed_at=utcnow())
    session.add(resident)
    session.flush()
    return resident


def guardian(session, *, language: str = "ja", district: str = "ota", children=(),
             blocked: bool = False, partner_of: Guardian | None = None,
             user_id: str | None = None) -> Guardian:
    """Register a resident (or join a partner's household) with children born on these days."""
    resident = follower(session, user_id, language, blocked)
    n = next(_numbers)
    answers: dict[str, Any] = {
        "name": f"保護者{n}", "kana": "ホゴシャ", "phone": f"090{n:08d}",
        "postal_code": "505-0041", "address": "太田町1", "district": district,
        "children": [{"name": f"子{n}-{i}", "kana": "コ", "birth_date": b.isoformat()}
                     for i, b in enumerate(children)]}
    if partner_of is None:
        return resident_services.register(session, resident, answers, utcnow())
    found = Guardian(resident_id=resident.id, household_id=partner_of.household_id,
                     consented_at=utcnow(), name=answers["name"], kana="ホゴシャ",
                     phone=answers["phone"], postal_code="505-0041", address="太田町1",
                     district_code=district)
    session.add(found)
    session.flush()
    return found


def visit(session, household_id: int, center_code: str, at: datetime,
          until: datetime | None = None) -> Visit:
    center = session.scalars(select(Center).where(Center.code == center_code)).one()
    row = Visit(center_id=center.id, household_id=household_id, method="poster",
                checked_in_at=at, checked_out_at=until)
    session.add(row)
    session.flush()
    return row


def seeded(app) -> None:
    with app.app_context(), db.transaction() as session:
        seed(session)


def settings(**values: Any) -> NoticeSettings:
    return NoticeSettings(**values)


__all__ = ["CITY", "follower", "guardian", "seeded", "settings", "uid", "visit"]
