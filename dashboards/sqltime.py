"""Local day, hour and weekday of a UTC timestamp column, in SQL that SQLite and PostgreSQL share.

Both backends only differ in two leaves: the epoch seconds of a timestamp and the date of a
day number. Everything else is integer arithmetic on `epoch + offset`, where the offset is
the city's UTC offset *at that instant* (a CASE over the zone's transitions in the range), so
a zone with daylight saving time is handled visit by visit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, Integer, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

DAY = 86400
EPOCH = date(1970, 1, 1)
THURSDAY = 3  # 1970-01-01 was a Thursday; Monday is 0


class epoch_seconds(FunctionElement):  # noqa: N801  (reads like the SQL function it is)
    """Whole seconds since 1970 of a UTC timestamp column."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    # SQLite keeps UTC timestamps as text; strftime('%s') reads them as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgres(element, compiler, **kw) -> str:
    # floor, not a cast: a cast to bigint would round 12.6 s up into the next second.
    return f"CAST(floor(extract(epoch from {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class day_date(FunctionElement):  # noqa: N801
    """The date of a day number (days since 1970-01-01)."""

    type = Date()
    inherit_cache = True


@compiles(day_date, "sqlite")
def _day_sqlite(element, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)} * {DAY}, 'unixepoch')"


@compiles(day_date, "postgresql")
def _day_postgres(element, compiler, **kw) -> str:
    return f"(DATE '1970-01-01' + CAST({compiler.process(element.clauses, **kw)} AS INTEGER))"


class weekday(FunctionElement):  # noqa: N801
    """The weekday of a date column, Monday 0, as datetime.weekday()."""

    type = Integer()
    inherit_cache = True


@compiles(weekday, "sqlite")
def _weekday_sqlite(element, compiler, **kw) -> str:
    # strftime('%w') counts from Sunday 0.
    return f"((CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER) + 6) % 7)"


@compiles(weekday, "postgresql")
def _weekday_postgres(element, compiler, **kw) -> str:
    return f"(CAST(extract(isodow FROM {compiler.process(element.clauses, **kw)}) AS INTEGER) - 1)"


def offset_seconds(zone: ZoneInfo, moment: datetime) -> int:
    """Return the zone's UTC offset at a moment, in seconds."""
    return int(moment.astimezone(zone).utcoffset().total_seconds())


def _transition(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """Return the first second in (before, after] with the offset `after` has."""
    old = offset_seconds(zone, before)
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        before, after = (middle, after) if offset_seconds(zone, middle) == old else (before, middle)
    return after


def offset_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[int | None, int]]:
    """Return (until epoch second, offset) pieces covering start..end; the last is open-ended."""
    segments: list[tuple[int | None, int]] = []
    moment, offset = start, offset_seconds(zone, start)
    while moment < end:
        step = min(moment + timedelta(days=1), end)
        if offset_seconds(zone, step) != offset:
            change = _transition(zone, moment, step)
            segments.append((int(change.timestamp()), offset))
            offset = offset_seconds(zone, change)
        moment = step
    return segments + [(None, offset)]


def local_seconds(column, segments: list[tuple[int | None, int]]) -> ColumnElement:
    """Return the column as seconds since 1970 on the local wall clock."""
    epoch = epoch_seconds(column)
    if len(segments) == 1:
        return epoch + literal(segments[0][1])
    whens = [(epoch < until, epoch + literal(off)) for until, off in segments[:-1]]
    return case(*whens, else_=epoch + literal(segments[-1][1]))


def day_number(day: date) -> int:
    """Return the day number of a date."""
    return (day - EPOCH).days


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """Return the local date of a UTC moment."""
    return moment.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Return local midnight of a day as a UTC moment."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)
