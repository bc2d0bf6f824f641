"""Aggregation of visits into rollups: plain functions of (session, now, city), GROUP BY in SQL.

Set-based, and without per-visit arithmetic: database triggers keep on each visit row its
local day and hour (from the city's UTC offsets in `utc_offsets`) and its children per age
band (migration 0015), so each rollup is one `INSERT ... SELECT ... GROUP BY` of the visits
alone, as cheap as any scan that groups them. An incremental run deletes and recomputes the
changed (center, local day)s with one DELETE and one INSERT per rollup.

Triggers log every change to visits in `visit_changes` (models/rollup.py). An incremental run
consumes that log: each logged (center, check-in time) names a local day whose rollup rows are
deleted and recomputed from the visits, so a late check-out, a correction or a deleted visit
or registration is reflected, and running twice changes nothing. A full run rebuilds all.
When CITYHALL_TIMEZONE no longer matches `utc_offsets`, the next run refills the offsets,
restamps every visit's local day and hour, and rebuilds.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (Integer, and_, case, delete, func, insert, literal, or_, select, text,
                        union_all, update)
from sqlalchemy.orm import Session

from cityhall.city import City
from cityhall.db import dialect_insert
from dashboards.sqltime import (DAY, day_date, local_day, local_seconds,
                                offset_segments, weekday)
from models.rollup import (AgeUsage, DistrictUsage, HourlyUsage, RollupState, UtcOffset,
                           VisitChange)
from models.visit import Visit

log = logging.getLogger(__name__)

STATE = "visits"
ROLLUPS = (HourlyUsage, DistrictUsage, AgeUsage)
# (key, from months, below months): ages on the visit day, as staff plan classes. The visit
# row counts its children per band (BAND_COLUMNS), kept by triggers: changing the bands
# takes a migration that rewrites them (see 0018_visit_local_time).
AGE_BANDS = (("0", 0, 12), ("1", 12, 24), ("2", 24, 36), ("3-5", 36, 72), ("6+", 72, None))
BAND_COLUMNS = (Visit.children_0, Visit.children_1, Visit.children_2, Visit.children_3_5,
                Visit.children_6_up)
CHANGES_PER_RUN = 200_000  # a backlog larger than this is taken over several runs
OPEN_END = 2 ** 62  # the end of the last UTC offset period: none
OFFSETS_FROM, OFFSETS_UNTIL = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

# Days recomputed by one statement per rollup (a larger backlog takes several). Each day's
# centers are one expanding IN parameter, so the statements of a run of one or two days (the
# usual five minutes) are compiled once per process.
DAYS_PER_STATEMENT = 50


@dataclass
class Result:
    """What a run did, for the CLI and the clock's log."""

    full: bool
    changes: int
    periods: int

    def __str__(self) -> str:
        kind = "full rebuild" if self.full else "incremental"
        return f"{kind}: {self.changes} changes, {self.periods} center-days recomputed"


# The SQL that computes rollup rows: each rollup is one GROUP BY of the visits matching
# `where`, over the stored local day and hour and the per-band children counts. The local
# day leads each GROUP BY: SQLite would otherwise walk the (center, local day) index for the
# grouping's order and fetch each visit out of table order; a scan and a sort are faster.


def hourly_rows(where: list):
    """Group visits by center, local day and hour, with their children per age band."""
    return select(Visit.center_id, Visit.local_day, Visit.local_hour, weekday(Visit.local_day),
                  func.count(), func.sum(Visit.children_count),
                  func.sum(case((Visit.first_visit, 1), else_=0)), func.count(Visit.stay_seconds),
                  func.coalesce(func.sum(Visit.stay_seconds), 0),
                  *(func.sum(column) for column in BAND_COLUMNS)
                  ).where(*where).group_by(Visit.local_day, Visit.center_id, Visit.local_hour)


def district_rows(where: list):
    """Group visits by center, local day and district."""
    district = func.coalesce(Visit.district_code, "")
    return select(Visit.center_id, Visit.local_day, district, func.count(),
                  func.sum(Visit.children_count), func.sum(case((Visit.first_visit, 1), else_=0))
                  ).where(*where).group_by(Visit.local_day, Visit.center_id, district)


def age_rows(where: list):
    """Children by center, local day, hour and age band: one row per band with children of
    each hourly rollup row (filled first)."""
    bands = union_all(*(select(literal(key).label("band"), literal(n, Integer).label("n"))
                        for n, (key, _from, _below) in enumerate(AGE_BANDS))).subquery("bands")
    columns = [getattr(HourlyUsage, column.key) for column in BAND_COLUMNS]
    children = case(*((bands.c.n == n, column) for n, column in enumerate(columns)))
    return select(HourlyUsage.center_id, HourlyUsage.day, HourlyUsage.hour, bands.c.band,
                  HourlyUsage.weekday, children).join(bands, children > 0).where(*where)


# (rollup, its rows, their columns, what they are made from: its day and center columns).
# In this order: the age rollup is made from the hourly one.
INSERTS = (
    (HourlyUsage, hourly_rows, ["center_id", "day", "hour", "weekday", "visits", "children",
                                "new_visits", "stays", "stay_seconds",
                                *(column.key for column in BAND_COLUMNS)],
     (Visit.local_day, Visit.center_id)),
    (DistrictUsage, district_rows, ["center_id", "day", "district_code", "visits", "children",
                                    "new_visits"], (Visit.local_day, Visit.center_id)),
    (AgeUsage, age_rows, ["center_id", "day", "hour", "age_band", "weekday", "children"],
     (HourlyUsage.day, HourlyUsage.center_id)),
)


def stale_where(day_column, center_column, days: dict[date, list[int]]):
    """Match exactly these centers on each of these days: for each day, its centers."""
    return or_(*(and_(day_column == day, center_column.in_(centers))
                 for day, centers in days.items()))


def compute(session: Session, days: dict[date, list[int]] | None) -> None:
    """Insert the rollup rows of these centers on these local days (None: of every visit),
    one INSERT ... SELECT per rollup."""
    if session.connection().dialect.name == "sqlite":
        # Sorts for GROUP BY in memory rather than in temporary files, and a page cache for
        # a scan of a million visits (this connection only).
        session.execute(text("PRAGMA temp_store = MEMORY"))
        session.execute(text("PRAGMA cache_size = -65536"))
    elif days is None:
        # A rebuild's GROUP BYs hash a million rows: in memory, not in batches spilled to
        # disk at the default 4 MB (this transaction only).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    for model, rows, columns, (day, center) in INSERTS:
        where = [] if days is None else [stale_where(day, center, days)]
        session.execute(insert(model).from_select(columns, rows(where)))


# The city's UTC offsets, as the visits' local-time trigger reads them.


def sync_zone(session: Session, zone: ZoneInfo) -> bool:
    """Make `utc_offsets` and every visit's local day and hour follow the city's zone.

    Returns True when they did not (a changed CITYHALL_TIMEZONE): the offsets are refilled
    and every visit restamped, and the caller must rebuild every rollup.
    """
    stored = session.scalars(select(UtcOffset.timezone).distinct()).all()
    if stored == [zone.key]:
        return False
    log.warning("time zone changed from %s to %s: restamping every visit", stored, zone.key)
    if session.connection().dialect.name == "postgresql":
        # Inserts wait for the new offsets rather than stamp with the old ones meanwhile.
        session.execute(text("LOCK TABLE utc_offsets IN ACCESS EXCLUSIVE MODE"))
    session.execute(delete(UtcOffset))
    segments = offset_segments(zone, OFFSETS_FROM, OFFSETS_UNTIL)
    session.execute(insert(UtcOffset), [
        {"until_epoch": OPEN_END if until is None else until, "offset_seconds": offset,
         "timezone": zone.key} for until, offset in segments])
    first, last = session.execute(select(func.min(Visit.checked_in_at),
                                         func.max(Visit.checked_in_at))).one()
    if first is not None:
        local = local_seconds(Visit.checked_in_at, offset_segments(
            zone, first - timedelta(days=1), last + timedelta(days=1)))
        session.execute(update(Visit).values(local_day=day_date(local // DAY),
                                             local_hour=(local % DAY) // 3600)
                        .execution_options(synchronize_session=False))
    return True


# Runs


def lock_state(session: Session, now: datetime) -> RollupState:
    """Return the aggregation's state row, locked so two runs never interleave."""
    session.execute(dialect_insert(session)(RollupState).values(name=STATE, last_change_id=0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    return session.get(RollupState, STATE, with_for_update=True, populate_existing=True)


def aggregate(session: Session, now: datetime, *, city: City) -> Result:
    """Bring the rollups up to date with what changed since the last run."""
    state = lock_state(session, now)
    if sync_zone(session, city.zone):
        return _rebuild(session, state, now)
    changes = consume(session)
    if not changes:
        state.last_run_at = now
        return Result(False, 0, 0)
    days = stale_days(changes, city.zone)
    recompute(session, days)
    state.last_change_id = max(state.last_change_id, max(c.id for c in changes))
    state.last_run_at = now
    return Result(False, len(changes), sum(len(centers) for centers in days.values()))


def consume(session: Session) -> list:
    """Delete the oldest change rows (up to CHANGES_PER_RUN) and return them, before
    recomputing, so a later change is never lost.

    One DELETE ... RETURNING: exactly the rows it deleted are the ones read (on PostgreSQL a
    lower id may commit later; it stays for the next run).
    """
    oldest = (select(VisitChange.id).order_by(VisitChange.id).limit(CHANGES_PER_RUN)
              .scalar_subquery())
    return session.execute(delete(VisitChange).where(VisitChange.id.in_(oldest)).returning(
        VisitChange.id, VisitChange.center_id, VisitChange.checked_in_at)
        .execution_options(synchronize_session=False)).all()


def stale_days(changes, zone: ZoneInfo) -> dict[date, list[int]]:
    """Return the changed local days, each with its changed centers."""
    centers: dict[date, set[int]] = defaultdict(set)
    # A visit and each of its children log the same (center, check-in): one zone lookup each.
    for center, checked_in_at in {(c.center_id, c.checked_in_at) for c in changes}:
        centers[local_day(checked_in_at, zone)].add(center)
    return {day: sorted(centers[day]) for day in sorted(centers)}


def recompute(session: Session, days: dict[date, list[int]]) -> None:
    """Replace the rollup rows of exactly these center-days: one DELETE and one INSERT ...
    SELECT per rollup for all of them together (DAYS_PER_STATEMENT days at a time)."""
    ordered = list(days.items())
    for i in range(0, len(ordered), DAYS_PER_STATEMENT):
        chunk = dict(ordered[i:i + DAYS_PER_STATEMENT])
        for model in ROLLUPS:
            session.execute(delete(model).where(stale_where(model.day, model.center_id, chunk)))
        compute(session, chunk)


def rebuild(session: Session, now: datetime, *, city: City) -> Result:
    """Rebuild every rollup from all visits."""
    state = lock_state(session, now)
    sync_zone(session, city.zone)
    return _rebuild(session, state, now)


def _rebuild(session: Session, state: RollupState, now: datetime) -> Result:
    top = session.scalar(select(func.max(VisitChange.id))) or 0
    count = session.execute(delete(VisitChange).where(VisitChange.id <= top)).rowcount
    for model in ROLLUPS:
        session.execute(delete(model))
    compute(session, None)
    state.last_change_id = max(state.last_change_id, top)
    state.last_run_at = state.last_full_at = now
    days = session.scalar(select(func.count()).select_from(
        select(HourlyUsage.center_id, HourlyUsage.day).distinct().subquery()))
    return Result(True, count, days or 0)


def last_run(session: Session) -> datetime | None:
    """Return when the rollups were last brought up to date."""
    state = session.get(RollupState, STATE)
    return state.last_run_at if state else None

