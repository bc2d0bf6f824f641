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
from dashboards.sqltime import (DAY, day_date, epoch_seconds, local_day, local_seconds,
                                offset_segments, weekday)
from models.rollup import (AgeUsage, DistrictUsage, HourlyUsage, RollupState, UtcOffset,
                           VisitChange)
from models.visit import Visit

log = logging.getLogger(__name__)

STATE = "visits"
ROLLUPS = (HourlyUsage, DistrictUsage, AgeUsage)
# (key, from months, below months): ages on the visit day, as staff plan classes. The visit
# row counts its children per band (BAND_COLUMNS), kept by triggers: changing the bands
# takes a migration that rewrites them (see 0015_visit_local_time).
AGE_BANDS = (("0", 0, 12), ("1", 12, 24), ("2", 24, 36), ("3-5", 36, 72), ("6+", 72, None))
BAND_COLUMNS = (Visit.children_0, Visit.children_1, Visit.children_2, Visit.children_3_5,
                Visit.children_6_up)
CHANGES_PER_RUN = 200_000  # a backlog larger than this is taken over several runs
OPEN_END = 2 ** 62  # the end of the last UTC offset period: none
OFFSETS_FROM, OFFSETS_UNTIL = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

# (center id, first local day, last local day): consecutive days of one center to recompute.
Span = tuple[int, date, date]


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
# `where`, over the stored local day and hour and the per-band children counts.


def _children():
    total = BAND_COLUMNS[0]
    for column in BAND_COLUMNS[1:]:
        total = total + column
    return total


def hourly_rows(where: list):
    """Group visits by center, local day and hour."""
    ended = (Visit.checked_out_at.is_not(None)
             & (func.coalesce(Visit.checkout_method, "") != "erased"))
    stay = epoch_seconds(Visit.checked_out_at) - epoch_seconds(Visit.checked_in_at)
    return select(Visit.center_id, Visit.local_day, Visit.local_hour, weekday(Visit.local_day),
                  func.count(), func.sum(_children()),
                  func.sum(case((Visit.first_visit, 1), else_=0)),
                  func.sum(case((ended, 1), else_=0)), func.sum(case((ended, stay), else_=0))
                  ).where(*where).group_by(Visit.center_id, Visit.local_day, Visit.local_hour)


def district_rows(where: list):
    """Group visits by center, local day and district."""
    district = func.coalesce(Visit.district_code, "")
    return select(Visit.center_id, Visit.local_day, district, func.count(),
                  func.sum(_children()), func.sum(case((Visit.first_visit, 1), else_=0))
                  ).where(*where).group_by(Visit.center_id, Visit.local_day, district)


def age_rows(where: list):
    """Children by center, local day, hour and age band: the visits' band counts, grouped
    by hour, then one row per band that has children."""
    sums = select(Visit.center_id.label("center_id"), Visit.local_day.label("day"),
                  Visit.local_hour.label("hour"),
                  *(func.sum(col).label(f"b{n}") for n, col in enumerate(BAND_COLUMNS))
                  ).where(*where).group_by(Visit.center_id, Visit.local_day, Visit.local_hour
                                           ).subquery("sums")
    bands = union_all(*(select(literal(key).label("band"), literal(n, Integer).label("n"))
                        for n, (key, _from, _below) in enumerate(AGE_BANDS))).subquery("bands")
    children = case(*((bands.c.n == n, sums.c[f"b{n}"]) for n in range(len(AGE_BANDS))))
    return select(sums.c.center_id, sums.c.day, sums.c.hour, bands.c.band, weekday(sums.c.day),
                  children).select_from(sums).join(bands, children > 0)


INSERTS = (
    (HourlyUsage, hourly_rows, ["center_id", "day", "hour", "weekday", "visits", "children",
                                "new_visits", "stays", "stay_seconds"]),
    (DistrictUsage, district_rows, ["center_id", "day", "district_code", "visits", "children",
                                    "new_visits"]),
    (AgeUsage, age_rows, ["center_id", "day", "hour", "age_band", "weekday", "children"]),
)


def compute(session: Session, spans: list[Span] | None) -> None:
    """Insert the rollup rows of these centers' days (None: of every visit), one INSERT ...
    SELECT per rollup."""
    where = [] if spans is None else [or_(*(
        and_(Visit.center_id == center, Visit.local_day.between(first, last))
        for center, first, last in spans))]
    if spans is None and session.connection().dialect.name == "postgresql":
        # A rebuild's GROUP BYs hash a million rows: in memory, not in batches spilled to
        # disk at the default 4 MB (this transaction only).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    for model, rows, columns in INSERTS:
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
    changes = session.execute(select(VisitChange.id, VisitChange.center_id,
                                     VisitChange.checked_in_at)
                              .order_by(VisitChange.id).limit(CHANGES_PER_RUN)).all()
    if not changes:
        state.last_run_at = now
        return Result(False, 0, 0)
    consume(session, [c.id for c in changes])
    spans = stale_spans(changes, city.zone)
    recompute(session, spans)
    state.last_change_id = max(state.last_change_id, changes[-1].id)
    state.last_run_at = now
    count = sum((last - first).days + 1 for _center, first, last in spans)
    return Result(False, len(changes), count)


def consume(session: Session, ids: list[int]) -> None:
    """Delete the change rows read, before recomputing, so a later change is never lost."""
    # Exactly these ids, not "up to the highest": on PostgreSQL a lower id may commit later.
    for i in range(0, len(ids), 5000):
        session.execute(delete(VisitChange).where(VisitChange.id.in_(ids[i:i + 5000])))


def stale_spans(changes, zone: ZoneInfo) -> list[Span]:
    """Return the changed (center, local day)s as runs of consecutive days per center."""
    days_by_center: dict[int, set[date]] = defaultdict(set)
    for change in changes:
        days_by_center[change.center_id].add(local_day(change.checked_in_at, zone))
    spans: list[Span] = []
    for center in sorted(days_by_center):
        for day in sorted(days_by_center[center]):
            if spans and spans[-1][0] == center and spans[-1][2] == day - timedelta(days=1):
                spans[-1] = (center, spans[-1][1], day)
            else:
                spans.append((center, day, day))
    return spans


def recompute(session: Session, spans: list[Span]) -> None:
    """Replace the rollup rows of exactly these center-days: one DELETE and one INSERT ...
    SELECT per rollup for all of them together."""
    for model in ROLLUPS:
        session.execute(delete(model).where(or_(*(
            and_(model.center_id == center, model.day.between(first, last))
            for center, first, last in spans))))
    compute(session, spans)


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

