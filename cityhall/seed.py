"""Seed data: the model city's districts, demo centers and departments (idempotent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Center, Department, District
from models.center import WEEKDAYS, CheckinMode

DISTRICTS = [
    ("ota", "太田", "Ota"), ("furui", "古井", "Furui"), ("yamanoue", "山之上", "Yamanoue"),
    ("hachiya", "蜂屋", "Hachiya"), ("kamono", "加茂野", "Kamono"), ("ibuka", "伊深", "Ibuka"),
    ("miwa", "三和", "Miwa"), ("shimokoda", "下米田", "Shimokoda"), ("other", "市外", "Outside the city"),
]

CENTERS = [
    ("central", "中央子育て支援センター", "Central Child Support Center", "ota", "太田町1-1"),
    ("east", "東子育て支援センター", "East Child Support Center", "hachiya", "蜂屋町2-3"),
    ("west", "西子育て支援センター", "West Child Support Center", "shimokoda", "下米田町4-5"),
]
# The English names above do not fit LINE's buttons: these are shown there instead.
SHORT_NAMES = {"central": "Central Center", "east": "East Center", "west": "West Center"}

# 9:00-16:00 Monday to Saturday, closed on Sunday.
OPENING_HOURS: dict[str, list[str] | None] = {day: ["09:00", "16:00"] for day in WEEKDAYS[:6]}
OPENING_HOURS["sun"] = None
# `cityhall demo` only: open around the clock, so the demo checks in whenever it is shown.
DEMO_OPENING_HOURS: dict[str, list[str] | None] = {day: ["00:00", "24:00"] for day in WEEKDAYS}
# `cityhall demo` only: one center checks in with the rotating kiosk code, so both kinds show.
DEMO_KIOSK_CENTERS = ("west",)

DEPARTMENTS = [
    ("childcare", "子育て支援課", "Child Support Division"),
    ("roads", "土木課", "Roads and Parks Division"),
    ("citizens", "市民課", "Citizens Division"),
]


def _upsert(session: Session, model, code: str, **values) -> object:
    row = session.scalars(select(model).where(model.code == code)).first()
    if row is None:
        row = model(code=code, **values)
        session.add(row)
        session.flush()
    return row


def seed(session: Session, *, demo: bool = False) -> None:
    """Create what is missing; never overwrite what staff changed (the demo opens all day)."""
    districts = {code: _upsert(session, District, code, name_ja=ja, name_en=en)
                 for code, ja, en in DISTRICTS}
    for code, ja, en, district, address in CENTERS:
        center = _upsert(session, Center, code, name_ja=ja, name_en=en, address=address,
                         district_id=districts[district].id, opening_hours=dict(OPENING_HOURS))
        if not center.opening_hours:  # added empty by a migration: fill once, never overwrite
            center.opening_hours = dict(OPENING_HOURS)
        if center.short_name_en is None and center.name_en == en:  # staff's names stay
            center.short_name_en = SHORT_NAMES[code]
        if demo:  # the demo's own centers only; the closed-center rule itself is unchanged
            center.opening_hours, center.closed_days = dict(DEMO_OPENING_HOURS), []
            if code in DEMO_KIOSK_CENTERS:
                center.checkin_mode = CheckinMode.KIOSK
    for code, ja, en in DEPARTMENTS:
        _upsert(session, Department, code, name_ja=ja, name_en=en)
