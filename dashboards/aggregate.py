"""Aggregation of visits into rollups: plain functions of (session, now, city), GROUP BY in SQL.

Set-based: one scan of the visits fills a temporary table of per-visit facts (local day,
hour, weekday, children: the costly expressions, once per visit), then each rollup is one
INSERT ... SELECT ... GROUP BY over it. An incremental run deletes and recomputes every
stale (center, local days) period with one DELETE and one INSERT per rollup.

Triggers log every change to visits in `visit_changes` (models/rollup.py). An incremental run
consumes that log: each logged (center, check-in time) names a local day whose rollup rows are
deleted and recomputed from the visits, so a late check-out, a correction or a deleted visit
or registration is reflected, and running twice changes nothing. A full run rebuilds all.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (BigInteger, Column, Integer, MetaData, String, Table, and_, case, delete,
                        func, insert, literal, or_, select, text)
from sqlalchemy.orm import Session

from cityhall.city import City
from cityhall.db import dialect_insert
from dashboards.sqltime import (DAY, THURSDAY, day_date, day_start, epoch_seconds, local_day,
                                local_seconds, offset_segments)
from models.rollup import AgeUsage, DistrictUsage, HourlyUsage, RollupState, VisitChange
from models.visit import Visit, VisitChild

log = logging.getLogger(__name__)

STATE = "visits"
ROLLUPS = (HourlyUsage, DistrictUsage, AgeUsage)
# (key, from months, below months): ages on the visit day, as staff plan classes.
AGE_BANDS = (("0", 0, 12), ("1", 12, 24), ("2", 24, 36), ("3-5", 36, 72), ("6+", 72, None))
CHANGES_PER_RUN = 200_000  # a backlog larger than this is taken over several runs


@dataclass
class Result:
    """What a run did, for the CLI and the clock's log."""

    full: bool
    changes: int
    periods: int

    def __str__(self) -> str:
        kind = "full rebuild" if self.full else "incremental"
        return f"{kind}: {self.changes} changes, {self.periods} center-days recomputed"


# The SQL that computes rollup rows: the facts of each visit are computed once, into a
# temporary table, and each rollup is one INSERT ... SELECT ... GROUP BY over it.

FACTS = Table(
    "rollup_facts", MetaData(),
    Column("visit_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("center_id", Integer), Column("dayn", Integer), Column("hour", Integer),
    Column("weekday", Integer), Column("district_code", String(32)), Column("children", Integer),
    Column("new", Integer), Column("stayed", Integer), Column("stay_seconds", BigInteger),
    prefixes=["TEMPORARY"],
)


def visit_facts(where: list, zone: ZoneInfo, start: datetime, end: datetime,
                everything: bool = False):
    """Return one row per visit: center, local day number, hour, weekday and what it counts.

    Children are counted per visit by a lookup for a few visits, and by one grouped scan of
    every child joined to the visits when `everything` is taken (a full rebuild).
    """
    local = local_seconds(Visit.checked_in_at, offset_segments(zone, start, end))
    kids = None
    if everything:
        kids = (select(VisitChild.visit_id, func.count().label("n"))
                .group_by(VisitChild.visit_id).subquery("kids"))
        children = func.coalesce(kids.c.n, 0)
    else:
        children = (select(func.count()).where(VisitChild.visit_id == Visit.id)
                    .correlate(Visit).scalar_subquery())
    ended = (Visit.checked_out_at.is_not(None)
             & (func.coalesce(Visit.checkout_method, "") != "erased"))
    query = select(
        Visit.id.label("visit_id"), Visit.center_id, (local // DAY).label("dayn"),
        ((local % DAY) // 3600).label("hour"), ((local // DAY + THURSDAY) % 7).label("weekday"),
        func.coalesce(Visit.district_code, "").label("district_code"),
        children.label("children"), case((Visit.first_visit, 1), else_=0).label("new"),
        case((ended, 1), else_=0).label("stayed"),
        case((ended, epoch_seconds(Visit.checked_out_at) - epoch_seconds(Visit.checked_in_at)),
             else_=0).label("stay_seconds"),
    )
    if kids is not None:
        query = query.outerjoin(kids, kids.c.visit_id == Visit.id)
    return query.where(*where)


def hourly_rows(facts):
    """Group visit facts by center, day and hour."""
    return select(facts.c.center_id, day_date(facts.c.dayn), facts.c.hour, facts.c.weekday,
                  func.count(), func.sum(facts.c.children), func.sum(facts.c.new),
                  func.sum(facts.c.stayed), func.sum(facts.c.stay_seconds)).group_by(
        facts.c.center_id, facts.c.dayn, facts.c.hour, facts.c.weekday)


def district_rows(facts):
    """Group visit facts by center, day and district."""
    return select(facts.c.center_id, day_date(facts.c.dayn), facts.c.district_code, func.count(),
                  func.sum(facts.c.children), func.sum(facts.c.new)).group_by(
        facts.c.center_id, facts.c.dayn, facts.c.district_code)


def age_band_expr(months):
    """Return the age band key of an age in months, as SQL."""
    whens = [(months < below, literal(key)) for key, _from, below in AGE_BANDS if below]
    return case(*whens, else_=literal(AGE_BANDS[-1][0]))


def age_rows(facts):
    """Group the children of the visit facts by center, day, hour and age band."""
    band = age_band_expr(VisitChild.age_months)
    return select(facts.c.center_id, day_date(facts.c.dayn), facts.c.hour, band, facts.c.weekday,
                  func.count()).join_from(facts, VisitChild, VisitChild.visit_id == facts.c.visit_id
                                          ).group_by(facts.c.center_id, facts.c.dayn, facts.c.hour,
                                                     band, facts.c.weekday)


INSERTS = (
    (HourlyUsage, hourly_rows, ["center_id", "day", "hour", "weekday", "visits", "children",
                                "new_visits", "stays", "stay_seconds"]),
    (DistrictUsage, district_rows, ["center_id", "day", "district_code", "visits", "children",
                                    "new_visits"]),
    (AgeUsage, age_rows, ["center_id", "day", "hour", "age_band", "weekday", "children"]),
)


def compute(session: Session, where: list, start: datetime, end: datetime, zone: ZoneInfo,
            everything: bool = False) -> None:
    """Insert the rollup rows of the visits matching `where`, checked in between start and end.

    One scan of the visits fills the facts table (local day, hour, children: the costly
    expressions, computed once per visit); then one INSERT ... SELECT per rollup groups it.
    """
    connection = session.connection()
    # SQLite counts children faster by index lookups than by a grouped subquery it would
    # materialize; PostgreSQL hashes the grouped children once (a lookup per visit is a
    # subplan run a million times).
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Sorts for GROUP BY and the facts table in memory rather than in temporary files
        # (a few tens of MB for a million visits); this connection only.
        session.execute(text("PRAGMA temp_store = MEMORY"))
        session.execute(text("PRAGMA cache_size = -65536"))
    elif everything:
        # A rebuild's GROUP BYs and the children join hash a million rows: in memory, not
        # in batches spilled to disk at the default 4 MB (this transaction only).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    FACTS.drop(connection, checkfirst=True)  # a run that failed on this connection
    FACTS.create(connection)
    try:
        session.execute(insert(FACTS).from_select([c.name for c in FACTS.c],
                                                  visit_facts(where, zone, start, end,
                                                              everything and not sqlite)))
        # Statistics, so the children join starts from the facts when they are few (an
        # incremental run) and scans when they are many; temp tables get no autovacuum.
        session.execute(text("ANALYZE rollup_facts"))
        for model, rows, columns in INSERTS:
            session.execute(insert(model).from_select(columns, rows(FACTS)))
    finally:
        FACTS.drop(connection)


# Runs


def lock_state(session: Session, now: datetime) -> RollupState:
    """Return the aggregation's state row, locked so two runs never interleave."""
    session.execute(dialect_insert(session)(RollupState).values(name=STATE, last_change_id=0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    return session.get(RollupState, STATE, with_for_update=True, populate_existing=True)


def aggregate(session: Session, now: datetime, *, city: City) -> Result:
    """Bring the rollups up to date with what changed since the last run."""
    state = lock_state(session, now)
    changes = session.execute(select(VisitChange.id, VisitChange.center_id,
                                     VisitChange.checked_in_at)
                              .order_by(VisitChange.id).limit(CHANGES_PER_RUN)).all()
    if not changes:
        state.last_run_at = now
        return Result(False, 0, 0)
    consume(session, [c.id for c in changes])
    periods = stale_periods(changes, city.zone)
    recompute(session, periods, city.zone)
    state.last_change_id = max(state.last_change_id, changes[-1].id)
    state.last_run_at = now
    count = sum(len(centers) * ((last - first).days + 1) for (first, last), centers in periods)
    return Result(False, len(changes), count)


def consume(session: Session, ids: list[int]) -> None:
    """Delete the change rows read, before recomputing, so a later change is never lost."""
    # Exactly these ids, not "up to the highest": on PostgreSQL a lower id may commit later.
    for i in range(0, len(ids), 5000):
        session.execute(delete(VisitChange).where(VisitChange.id.in_(ids[i:i + 5000])))


def stale_periods(changes, zone: ZoneInfo) -> list[tuple[tuple[date, date], set[int]]]:
    """Group changed (center, local day)s into runs of consecutive days with their centers."""
    centers_by_day: dict[date, set[int]] = defaultdict(set)
    for change in changes:
        centers_by_day[local_day(change.checked_in_at, zone)].add(change.center_id)
    periods: list[tuple[tuple[date, date], set[int]]] = []
    for day in sorted(centers_by_day):
        if periods and periods[-1][0][1] == day - timedelta(days=1):
            (first, _last), centers = periods[-1]
            periods[-1] = ((first, day), centers | centers_by_day[day])
        else:
            periods.append(((day, day), set(centers_by_day[day])))
    return periods


def recompute(session: Session, periods: list[tuple[tuple[date, date], set[int]]],
              zone: ZoneInfo) -> None:
    """Replace the rollup rows of these centers on these local days: one DELETE and one
    INSERT ... SELECT per rollup for every period together."""
    bounds = [(centers, day_start(first, zone), day_start(last + timedelta(days=1), zone))
              for (first, last), centers in periods]
    for model in ROLLUPS:
        session.execute(delete(model).where(or_(*(
            and_(model.center_id.in_(centers), model.day.between(first, last))
            for (first, last), centers in periods))))
    compute(session, [or_(*(and_(Visit.center_id.in_(centers), Visit.checked_in_at >= start,
                                 Visit.checked_in_at < end)
                            for centers, start, end in bounds))],
            min(b[1] for b in bounds), max(b[2] for b in bounds), zone)


def rebuild(session: Session, now: datetime, *, city: City) -> Result:
    """Rebuild every rollup from all visits."""
    state = lock_state(session, now)
    top = session.scalar(select(func.max(VisitChange.id))) or 0
    count = session.execute(delete(VisitChange).where(VisitChange.id <= top)).rowcount
    for model in ROLLUPS:
        session.execute(delete(model))
    first, last = session.execute(select(func.min(Visit.checked_in_at),
                                         func.max(Visit.checked_in_at))).one()
    if first is not None:
        compute(session, [], first - timedelta(days=1), last + timedelta(days=1), city.zone,
                everything=True)
    state.last_change_id = max(state.last_change_id, top)
    state.last_run_at = state.last_full_at = now
    days = session.scalar(select(func.count()).select_from(
        select(HourlyUsage.center_id, HourlyUsage.day).distinct().subquery()))
    return Result(True, count, days or 0)


def last_run(session: Session) -> datetime | None:
    """Return when the rollups were last brought up to date."""
    state = session.get(RollupState, STATE)
    return state.last_run_at if state else None

