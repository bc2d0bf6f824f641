"""Segments: which residents a notice reaches, as data, evaluated by one SQL query.

A segment is the JSON object of DESIGN.md's contract: keys combine with AND, a list inside
a key is OR, an absent key does not restrict. Every key but "followers" speaks of registered
residents (a guardian of a household); `{"followers": true}` widens the base to every
follower. Blocked residents and erased registrations are never recipients. A partner is a
guardian of the same household, so criteria on children or visits match both guardians.

Other features add criteria without this package importing them:

    from notices import segments
    segments.register_criterion("event", reservation_holders, check=check_event_id)

`builder(value, ctx)` returns a SQLAlchemy SELECT of one column of resident ids; `check(value)`
returns why a value is refused, or None. Register in the feature's `setup` (registering the
same builder twice is a no-op; another builder for a taken key is an error).
"""

from __future__ import annotations

import calendar
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from cityhall.city import City
from models import Center, District, Resident
from models.household import Child, Guardian
from models.notice import NoticeOptOut
from models.visit import Visit

DEFAULT_VISITED_WITHIN_DAYS = 30
MAX_AGE_MONTHS = 12 * 20
BUILT_IN_KEYS = ("all", "followers", "child_age_months", "districts", "visited_centers",
                 "visited_within_days", "languages")
# Keys services use for notices they build themselves; never accepted from staff or the CLI.
INTERNAL_KEYS = ("resident_ids", "center_closure")


class SegmentError(ValueError):
    """A segment that cannot be evaluated; the message says what to change."""


@dataclass(frozen=True)
class SegmentContext:
    """What a segment is evaluated against: the moment of sending, in the city's time zone."""

    now: datetime
    city: City

    @property
    def today(self) -> date:
        return self.city.today(self.now)


Builder = Callable[[Any, SegmentContext], Select]
Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Criterion:
    key: str
    builder: Builder
    check: Check | None = None


_criteria: dict[str, Criterion] = {}


def register_criterion(key: str, builder: Builder, check: Check | None = None) -> None:
    """Let segments carry `key`: `builder(value, ctx)` selects the matching resident ids."""
    if key in BUILT_IN_KEYS or key in INTERNAL_KEYS:
        raise ValueError(f"segment key {key!r} is built in")
    known = _criteria.get(key)
    if known is not None and known.builder is builder:
        return
    if known is not None:
        raise ValueError(f"segment key {key!r} is registered twice: by {_name(known.builder)} "
                         f"and by {_name(builder)}")
    _criteria[key] = Criterion(key, builder, check)


def unregister_criterion(key: str) -> None:
    """Forget a registered key (tests; a feature unloaded)."""
    _criteria.pop(key, None)


def registered_keys() -> list[str]:
    """Return the keys other features registered."""
    return sorted(_criteria)


def _name(func_: Callable) -> str:
    return f"{func_.__module__}.{getattr(func_, '__qualname__', func_)}"


# Parsing and validation


def parse(raw: str | Mapping[str, Any], *, internal: bool = False) -> dict[str, Any]:
    """Return the segment as a dict, or raise SegmentError saying what is wrong with it."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise SegmentError(f"the segment is not valid JSON: {err}") from None
    if not isinstance(raw, Mapping):
        raise SegmentError('a segment is a JSON object, e.g. {"all": true}')
    segment = dict(raw)
    if not segment:
        raise SegmentError('an empty segment reaches nobody; use {"all": true} for everyone')
    allowed = set(BUILT_IN_KEYS) | set(_criteria) | (set(INTERNAL_KEYS) if internal else set())
    unknown = sorted(set(segment) - allowed)
    if unknown:
        raise SegmentError(f"unknown segment key {unknown[0]!r}; known keys: "
                           + ", ".join(sorted(set(BUILT_IN_KEYS) | set(_criteria))))
    for key, value in segment.items():
        problem = _check(key, value, segment)
        if problem:
            raise SegmentError(f"{key}: {problem}")
    return segment


def _check(key: str, value: Any, segment: Mapping[str, Any]) -> str | None:
    if key in ("all", "followers"):
        return None if value is True else "must be true"
    if key == "child_age_months":
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            return "must be [MIN, MAX], two whole numbers of months"
        if not 0 <= value[0] <= value[1] <= MAX_AGE_MONTHS:
            return f"needs 0 <= MIN <= MAX <= {MAX_AGE_MONTHS}"
        return None
    if key in ("districts", "visited_centers", "languages"):
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, str) and 0 < len(v) <= 32 for v in value)):
            return "must be a non-empty list of codes"
        return None
    if key == "visited_within_days":
        if "visited_centers" not in segment:
            return "only goes with visited_centers"
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3650:
            return "must be a whole number of days from 1 to 3650"
        return None
    if key == "resident_ids":
        ok = isinstance(value, list) and all(isinstance(v, int) for v in value)
        return None if ok else "must be a list of resident ids"
    if key == "center_closure":
        ok = isinstance(value, dict) and {"center_id", "day", "at"} <= set(value)
        return None if ok else "must name a center, a day and a moment"
    criterion = _criteria[key]
    return criterion.check(value) if criterion.check else None


def check_codes(session: Session, segment: Mapping[str, Any]) -> None:
    """Raise SegmentError when the segment names a district or center the city does not have."""
    for key, model in (("districts", District), ("visited_centers", Center)):
        codes = segment.get(key) or []
        known = set(session.scalars(select(model.code).where(model.code.in_(codes))))
        missing = [c for c in codes if c not in known]
        if missing:
            raise SegmentError(f"{key}: unknown code {missing[0]!r}")


# Evaluation


def months_back(day: date, months: int) -> date:
    """Return the same day `months` earlier, clipped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def born_range(today: date, low: int, high: int):
    """Return a condition on Child.birth_date: completed months of age in [low, high] today.

    A child born on B has at least m completed months on T exactly when B <= months_back(T, m)
    (the age definition check-in uses: a month is complete on the same day of the month, or
    on the first day after a shorter month's end).
    """
    return and_(Child.birth_date <= months_back(today, low),
                Child.birth_date > months_back(today, high + 1))


def resident_ids(segment: Mapping[str, Any], ctx: SegmentContext, topic: str | None = None,
                 exempt: Select | None = None) -> Select:
    """Return the SELECT of the recipients' resident ids (see `recipients`)."""
    query = recipients(segment, ctx, topic, exempt)
    return select(query.subquery().c.resident_id)


def recipients(segment: Mapping[str, Any], ctx: SegmentContext, topic: str | None = None,
               exempt: Select | None = None) -> Select:
    """Return one SELECT of (resident_id, line_user_id, language, household_id, district_code).

    `topic` leaves out the residents who opted out of it, except those in `exempt` (a SELECT
    of resident ids: families inside a center that is closing).
    """
    columns = (Resident.id.label("resident_id"), Resident.line_user_id, Resident.language,
               Guardian.household_id, Guardian.district_code)
    if segment.get("followers") is True:
        query = select(*columns).select_from(Resident).outerjoin(
            Guardian, Guardian.resident_id == Resident.id)
    else:
        query = select(*columns).select_from(Resident).join(
            Guardian, Guardian.resident_id == Resident.id)
    query = query.where(Resident.blocked.is_(False), Resident.registration_erased_at.is_(None))
    for condition in conditions(segment, ctx):
        query = query.where(condition)
    if topic is not None:
        opted_out = exists().where(NoticeOptOut.resident_id == Resident.id,
                                   NoticeOptOut.topic == topic)
        query = query.where(or_(~opted_out, Resident.id.in_(exempt)) if exempt is not None
                            else ~opted_out)
    return query


def conditions(segment: Mapping[str, Any], ctx: SegmentContext) -> list[Any]:
    """Return the WHERE conditions of the segment's keys (on residents joined to guardians)."""
    found: list[Any] = []
    if "child_age_months" in segment:
        low, high = segment["child_age_months"]
        found.append(Guardian.household_id.in_(
            select(Child.household_id).where(born_range(ctx.today, low, high))))
    if "districts" in segment:
        found.append(Guardian.district_code.in_(segment["districts"]))
    if "visited_centers" in segment:
        days = segment.get("visited_within_days", DEFAULT_VISITED_WITHIN_DAYS)
        found.append(Guardian.household_id.in_(
            select(Visit.household_id).join(Center, Center.id == Visit.center_id)
            .where(Center.code.in_(segment["visited_centers"]),
                   Visit.checked_in_at >= ctx.now - timedelta(days=days),
                   Visit.household_id.is_not(None))))
    if "languages" in segment:
        found.append(Resident.language.in_(segment["languages"]))
    if "resident_ids" in segment:
        found.append(Resident.id.in_(segment["resident_ids"]))
    for key, criterion in _criteria.items():
        if key in segment:
            found.append(Resident.id.in_(criterion.builder(segment[key], ctx)))
    if "center_closure" in segment:
        from notices import closures  # closures build on this module

        found.append(Resident.id.in_(closures.recipient_ids(segment["center_closure"], ctx)))
    return found


# Reach


AGE_BANDS = ((0, 11, "0–11"), (12, 23, "12–23"), (24, 35, "24–35"), (36, 47, "36–47"),
             (48, 59, "48–59"), (60, 71, "60–71"), (72, MAX_AGE_MONTHS, "72+"))


@dataclass(frozen=True)
class Reach:
    """How many a segment reaches, with counts by district and child age; never names."""

    residents: int
    households: int
    districts: list[tuple[str, int]]  # (district code, residents), largest first
    ages: list[tuple[str, int]]  # (age band in months, children in the reached households)
    # (the residents' language code, residents), largest first: who reads which text
    languages: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"residents": self.residents, "households": self.households,
                "districts": [{"code": c, "residents": n} for c, n in self.districts],
                "ages": [{"months": band, "children": n} for band, n in self.ages],
                "languages": [{"code": c, "residents": n} for c, n in self.languages]}


def count(session: Session, segment: Mapping[str, Any], ctx: SegmentContext,
          topic: str | None = None) -> int:
    """Return the number of residents the segment reaches now (one query)."""
    sub = recipients(segment, ctx, topic).subquery()
    return session.scalar(select(func.count()).select_from(sub)) or 0


def reach(session: Session, segment: Mapping[str, Any], ctx: SegmentContext,
          topic: str | None = None) -> Reach:
    """Return the reach: residents, households, and a sample by district and child age."""
    sub = recipients(segment, ctx, topic).subquery()
    residents, households = session.execute(
        select(func.count(), func.count(sub.c.household_id.distinct())).select_from(sub)).one()
    by_district = session.execute(
        select(sub.c.district_code, func.count()).where(sub.c.district_code.is_not(None))
        .group_by(sub.c.district_code).order_by(func.count().desc(), sub.c.district_code)).all()
    births = session.execute(
        select(Child.birth_date, func.count()).where(
            Child.household_id.in_(select(sub.c.household_id).where(
                sub.c.household_id.is_not(None))))
        .group_by(Child.birth_date)).all()
    language = func.coalesce(sub.c.language, "ja")
    by_language = session.execute(
        select(language, func.count()).group_by(language)
        .order_by(func.count().desc(), language)).all()
    ages: Counter[str] = Counter()
    for birth, n in births:
        months = age_in_months(birth, ctx.today)
        ages.update({next(label for lo, hi, label in AGE_BANDS if months <= hi): n})
    return Reach(residents, households, [(c, n) for c, n in by_district[:8]],
                 [(label, ages[label]) for _lo, _hi, label in AGE_BANDS if ages[label]],
                 [(c, n) for c, n in by_language])


def age_in_months(birth: date, day: date) -> int:
    """Return completed months of age on a day (the same rule as born_range)."""
    months = (day.year - birth.year) * 12 + day.month - birth.month
    return max(0, months - (1 if day.day < birth.day else 0))
