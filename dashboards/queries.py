"""Dashboard figures read from the rollups: session and filters in, a pandas frame out.

Every function takes Filters: the centers and departments already limited to the staff
member's scope (the view builds them from the signed-in user through staff.access), the local
date range and the City whose local days those are. Nothing here reads the request or the app,
so the same calls work from a view, a job or a test; views render, these compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, cast, false, func, select, true
from sqlalchemy.orm import Session

from cityhall.city import City
from dashboards.aggregate import AGE_BANDS
from dashboards.sqltime import day_start
from models import Center, Department, District
from models.application import Submission
from models.rollup import AgeUsage, DistrictUsage, HourlyUsage
from models.visit import Visit

if TYPE_CHECKING:  # pandas loads where a frame is built, never in the worker or clock
    import pandas as pd

GRAINS = ("day", "week", "month")
AVERAGE_WEEKS = 8  # "the same weekday's average" looks this many weeks back


@dataclass(frozen=True)
class Filters:
    """What a dashboard shows: centers in scope, local dates, an age band, a time grain.

    `departments` is the staff scope for applications: the ids allowed, or None for all
    (admins); the default allows none, so a forgotten scope shows nothing rather than all.
    """

    centers: tuple[Center, ...]
    start: date
    end: date
    band: str | None = None
    grain: str = "day"
    city: City = field(kw_only=True)
    departments: frozenset[int] | None = field(default=frozenset(), kw_only=True)

    @property
    def center_ids(self) -> list[int]:
        return [c.id for c in self.centers]


def total(column):
    """Return SUM(column) as an integer (PostgreSQL sums a bigint into a numeric)."""
    return cast(func.sum(column), BigInteger)


def _frame(session: Session, query, columns: list[str]) -> pd.DataFrame:
    """Run a query into a frame with these column names."""
    import pandas as pd

    return pd.DataFrame(session.execute(query).all(), columns=columns)


def _in_view(model, f: Filters) -> list:
    """Return the WHERE clauses of a rollup for the filters' centers and dates."""
    return [model.center_id.in_(f.center_ids), model.day.between(f.start, f.end)]


def _in_departments(f: Filters):
    """Return the WHERE clause limiting departments to the filters' scope."""
    if f.departments is None:
        return true()
    return Department.id.in_(sorted(f.departments)) if f.departments else false()


def _period(days: pd.Series, grain: str) -> pd.Series:
    """Return the first day of each day's week (Monday) or month."""
    import pandas as pd

    stamps = pd.to_datetime(days)
    if grain == "week":
        stamps = stamps - pd.to_timedelta(stamps.dt.day_of_week, unit="D")
    elif grain == "month":
        stamps = stamps.dt.to_period("M").dt.start_time
    return stamps.dt.date


def _daily(session: Session, f: Filters, columns: dict[str, object]) -> pd.DataFrame:
    """Return sums per day of the range (zeros on days without visits), grouped by grain."""
    import pandas as pd

    model = AgeUsage if f.band else HourlyUsage
    where = _in_view(model, f) + ([AgeUsage.age_band == f.band] if f.band else [])
    query = select(model.day, *[total(c) for c in columns.values()]).where(*where).group_by(
        model.day)
    frame = _frame(session, query, ["day", *columns]).set_index("day")
    days = pd.date_range(f.start, f.end, freq="D").date
    frame = frame.reindex(days, fill_value=0).rename_axis("day").reset_index()
    frame["period"] = _period(frame["day"], f.grain)
    return frame.drop(columns="day").groupby("period", as_index=False).sum()


def usage(session: Session, f: Filters) -> pd.DataFrame:
    """Visits and children per day, week or month (children of the band when one is chosen)."""
    if f.band:
        return _daily(session, f, {"children": AgeUsage.children})
    return _daily(session, f, {"visits": HourlyUsage.visits, "children": HourlyUsage.children})


def households(session: Session, f: Filters) -> pd.DataFrame:
    """Visits of new and of returning households per period."""
    frame = _daily(session, replace(f, band=None),
                   {"visits": HourlyUsage.visits, "new": HourlyUsage.new_visits})
    frame["returning"] = frame["visits"] - frame["new"]
    return frame[["period", "new", "returning"]]


def stay(session: Session, f: Filters) -> pd.DataFrame:
    """Average length of stay in minutes per period, over visits ended by a check-out."""
    frame = _daily(session, replace(f, band=None),
                   {"stays": HourlyUsage.stays, "seconds": HourlyUsage.stay_seconds})
    frame["minutes"] = (frame["seconds"] / frame["stays"].where(frame["stays"] > 0) / 60).round(1)
    return frame[["period", "minutes", "stays"]].fillna({"minutes": 0})


def weekday_counts(start: date, end: date) -> pd.Series:
    """Return how many of each weekday (0 Monday) the date range holds."""
    import pandas as pd

    days = pd.Series(pd.date_range(start, end, freq="D"))
    return days.dt.day_of_week.value_counts().reindex(range(7), fill_value=0)


def heatmap(session: Session, f: Filters) -> pd.DataFrame:
    """Average visits (or children of the band) per weekday and hour over the range."""
    model, value = (AgeUsage, AgeUsage.children) if f.band else (HourlyUsage, HourlyUsage.visits)
    where = _in_view(model, f) + ([AgeUsage.age_band == f.band] if f.band else [])
    query = select(model.weekday, model.hour, total(value)).where(*where).group_by(
        model.weekday, model.hour)
    frame = _frame(session, query, ["weekday", "hour", "total"])
    days = weekday_counts(f.start, f.end)
    frame["average"] = (frame["total"] / frame["weekday"].map(days).clip(lower=1)).round(2)
    return frame.sort_values(["weekday", "hour"], ignore_index=True)


def districts(session: Session, f: Filters, language: str) -> pd.DataFrame:
    """Visits, children and new households per district of residence."""
    query = select(DistrictUsage.district_code, total(DistrictUsage.visits),
                   total(DistrictUsage.children), total(DistrictUsage.new_visits)).where(
        *_in_view(DistrictUsage, f)).group_by(DistrictUsage.district_code)
    frame = _frame(session, query, ["code", "visits", "children", "new"])
    names = {d.code: d.name(language) for d in session.scalars(select(District))}
    frame.insert(0, "district", frame["code"].map(names).fillna("—"))
    return frame.drop(columns="code").sort_values("visits", ascending=False, ignore_index=True)


def ages(session: Session, f: Filters) -> pd.DataFrame:
    """Children per age band on the visit day."""
    import pandas as pd

    where = _in_view(AgeUsage, f) + ([AgeUsage.age_band == f.band] if f.band else [])
    query = select(AgeUsage.age_band, total(AgeUsage.children)).where(*where).group_by(
        AgeUsage.age_band)
    counts = dict(session.execute(query).all())
    bands = [key for key, _from, _below in AGE_BANDS if not f.band or key == f.band]
    return pd.DataFrame({"band": bands, "children": [int(counts.get(b, 0)) for b in bands]})


def centers(session: Session, f: Filters, language: str) -> pd.DataFrame:
    """Visits, children, new households and average stay per center, and all centers."""
    import pandas as pd

    query = select(HourlyUsage.center_id, total(HourlyUsage.visits),
                   total(HourlyUsage.children), total(HourlyUsage.new_visits),
                   total(HourlyUsage.stays), total(HourlyUsage.stay_seconds)).where(
        *_in_view(HourlyUsage, f)).group_by(HourlyUsage.center_id)
    frame = _frame(session, query, ["id", "visits", "children", "new", "stays", "seconds"])
    counts = ["visits", "children", "new", "stays", "seconds"]
    frame = pd.DataFrame({"id": f.center_ids}).merge(frame, on="id", how="left")
    frame[counts] = frame[counts].fillna(0).astype("int64")
    overall = pd.DataFrame([{"id": 0, **frame[counts].sum().to_dict()}])
    frame = pd.concat([frame, overall], ignore_index=True)
    names = {c.id: c.name(language) for c in f.centers} | {0: "*"}
    frame.insert(0, "center", frame["id"].map(names))
    frame["minutes"] = (frame["seconds"] / frame["stays"].where(frame["stays"] > 0) / 60).round(1)
    frame = frame.fillna({"minutes": 0})
    return frame[["center", "visits", "children", "new", "minutes"]]


def today(session: Session, f: Filters, now: datetime, language: str) -> pd.DataFrame:
    """Per center: inside now, check-ins so far today, the same weekday's average so far."""
    import pandas as pd

    zone = f.city.zone
    day, hour = now.astimezone(zone).date(), now.astimezone(zone).hour
    inside = dict(session.execute(select(Visit.center_id, func.count()).where(
        Visit.center_id.in_(f.center_ids), Visit.checked_out_at.is_(None)).group_by(
        Visit.center_id)).all())
    # Today is read from visits (today's rows only, by index): rollups lag by a few minutes.
    so_far = dict(session.execute(select(Visit.center_id, func.count()).where(
        Visit.center_id.in_(f.center_ids), Visit.checked_in_at >= day_start(day, zone),
        Visit.checked_in_at <= now).group_by(Visit.center_id)).all())
    average = same_weekday_average(session, f, day, hour)
    return pd.DataFrame({"center": [c.name(language) for c in f.centers],
                         "inside": [inside.get(c.id, 0) for c in f.centers],
                         "today": [so_far.get(c.id, 0) for c in f.centers],
                         "average": [average.get(c.id, 0.0) for c in f.centers]})


def same_weekday_average(session: Session, f: Filters, day: date, hour: int) -> dict[int, float]:
    """Return per center the average check-ins up to this hour on this weekday, recent weeks."""
    first = day - timedelta(weeks=AVERAGE_WEEKS)
    rows = session.execute(select(HourlyUsage.center_id, total(HourlyUsage.visits)).where(
        HourlyUsage.center_id.in_(f.center_ids), HourlyUsage.day.between(first, day - timedelta(1)),
        HourlyUsage.weekday == day.weekday(), HourlyUsage.hour <= hour).group_by(
        HourlyUsage.center_id)).all()
    return {center_id: round(total / AVERAGE_WEEKS, 1) for center_id, total in rows}


def applications(session: Session, f: Filters, language: str) -> pd.DataFrame:
    """Applications per department and status, submitted in the date range."""
    zone = f.city.zone
    query = select(Department.code, Submission.status, func.count()).join(
        Department, Department.code == Submission.department_code).where(
        _in_departments(f), Submission.submitted_at >= day_start(f.start, zone),
        Submission.submitted_at < day_start(f.end + timedelta(days=1), zone)).group_by(
        Department.code, Submission.status)
    frame = _frame(session, query, ["code", "status", "count"])
    names = {d.code: d.name(language) for d in session.scalars(select(Department))}
    frame.insert(0, "department", frame["code"].map(names))
    frame["status"] = frame["status"].map(lambda s: getattr(s, "value", s))
    return frame.drop(columns="code").sort_values(["department", "status"], ignore_index=True)
