"""The dashboards, declared as data: what each computes, who may see it, how it is drawn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from dashboards import forecast, queries
from dashboards.queries import Filters
from staff.templating import WEEKDAY_LABELS

if TYPE_CHECKING:  # pandas loads where a frame is built, never in the worker or clock
    import pandas as pd

VISITS = ("admin", "center")
Build = Callable[[Session, Filters, str, datetime], "tuple[pd.DataFrame, dict]"]

LABELS = {
    "period": _l("Period"), "visits": _l("Visits"), "children": _l("Children"),
    "new": _l("New households"), "returning": _l("Returning households"),
    "minutes": _l("Average stay (minutes)"), "stays": _l("Visits with a check-out"),
    "weekday": _l("Weekday"), "hour": _l("Hour"), "total": _l("Total"),
    "average": _l("Average per day"), "district": _l("District"), "band": _l("Age band"),
    "center": _l("Center"), "inside": _l("Inside now"), "today": _l("Check-ins today so far"),
    "department": _l("Department"), "status": _l("Status"), "count": _l("Applications"),
    "date": _l("Date"), "forecast": _l("Forecast visits"),
}
AGE_BAND_LABELS = {"0": _l("0 years"), "1": _l("1 year"), "2": _l("2 years"),
                   "3-5": _l("3 to 5 years"), "6+": _l("6 years and over")}
# Own wording, not the residents' ("Done" is a button there): staff read a status.
STATUS_LABELS = {"received": _l("Application received"), "in_review": _l("Application in review"),
                 "approved": _l("Application approved"), "returned": _l("Application returned"),
                 "done": _l("Application done")}
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_names() -> list[str]:
    """Return the weekday names, Monday first, in the page's language."""
    return [str(WEEKDAY_LABELS[key]) for key in WEEKDAY_KEYS]


def _with_weekday_names(frame: pd.DataFrame) -> pd.DataFrame:
    frame["weekday"] = frame["weekday"].map(dict(enumerate(weekday_names())))
    return frame


@dataclass(frozen=True)
class Chart:
    """One dashboard: a page, a JSON endpoint, a CSV and an Excel download."""

    slug: str
    title: object
    description: object
    roles: tuple[str, ...]
    build: Build
    plot: dict = field(default_factory=dict)
    filters: tuple[str, ...] = ("center", "dates")
    labels: dict = field(default_factory=dict)  # column headings beyond LABELS
    # A figure written on the chart's tile of the index (e.g. "Overdue: 3"): (session,
    # filters, now) -> text, None for no figure. Cheap: the index computes it on every view.
    headline: Callable[[Session, Filters, datetime], str | None] | None = None
    # Whether the index lists the chart now (e.g. only in disaster mode); its page stays open.
    listed: Callable[[Session], bool] | None = None
    empty: object = None  # what the page says when there are no rows (default: no visits)


def _usage(session, f, language, now):
    return queries.usage(session, f), {}


def _heatmap(session, f, language, now):
    frame = _with_weekday_names(queries.heatmap(session, f))
    return frame, {"y_order": weekday_names()}


def _districts(session, f, language, now):
    return queries.districts(session, f, language), {}


def _ages(session, f, language, now):
    frame = queries.ages(session, f)
    frame["band"] = frame["band"].map(lambda key: str(AGE_BAND_LABELS[key]))
    return frame, {}


def _households(session, f, language, now):
    return queries.households(session, f), {}


def _stay(session, f, language, now):
    return queries.stay(session, f), {}


def _centers(session, f, language, now):
    frame = queries.centers(session, f, language)
    frame["center"] = frame["center"].replace("*", str(_l("All centers")))
    return frame, {}


def _today(session, f, language, now):
    return queries.today(session, f, now, language), {}


def _applications(session, f, language, now):
    frame = queries.applications(session, f, language)
    frame["status"] = frame["status"].map(lambda s: str(STATUS_LABELS.get(s, s)))
    return frame, {}


def _forecast(session, f, language, now):
    frame, evaluation = forecast.forecast(session, f, f.city.today(now))
    return _with_weekday_names(frame), {"evaluation": evaluation, "y_order": weekday_names()}


CHARTS = [
    Chart("today", _l("Today"), _l("Families inside now and check-ins so far, against the same "
                                   "weekday's average of the last eight weeks."), VISITS, _today,
          {"kind": "bar", "x": "center", "y": ["today", "average", "inside"]}, ("center",)),
    Chart("usage", _l("Usage over time"), _l("Visits and children per day, week or month."),
          VISITS, _usage, {"kind": "line", "x": "period", "y": ["visits", "children"],
                           "dates": True},
          ("center", "dates", "band", "grain")),
    Chart("heatmap", _l("Weekday and hour"), _l("Average check-ins per weekday and hour."),
          VISITS, _heatmap, {"kind": "heatmap", "x": "hour", "y": "weekday", "z": "average"},
          ("center", "dates", "band")),
    Chart("districts", _l("By district"), _l("Visits by the district the family lives in."),
          VISITS, _districts, {"kind": "bar", "x": "district", "y": ["visits", "children"]}),
    Chart("ages", _l("By child age"), _l("Children by age on the day of the visit."),
          VISITS, _ages, {"kind": "bar", "x": "band", "y": ["children"]},
          ("center", "dates", "band")),
    Chart("households", _l("New and returning"), _l("Visits of households coming for the "
                                                    "first time, and of returning ones."),
          VISITS, _households, {"kind": "bar", "x": "period", "y": ["new", "returning"],
                                "stack": True, "dates": True}, ("center", "dates", "grain")),
    Chart("stay", _l("Length of stay"), _l("Average minutes from check-in to check-out."),
          VISITS, _stay, {"kind": "line", "x": "period", "y": ["minutes"], "dates": True},
          ("center", "dates", "grain")),
    Chart("centers", _l("Per center"), _l("Each center in your scope, and all of them."),
          VISITS, _centers, {"kind": "bar", "x": "center", "y": ["visits", "children", "new"]},
          ("dates",)),
    Chart("forecast", _l("Forecast"), _l("Expected check-ins per weekday and hour for the next "
                                         "four weeks."), VISITS, _forecast,
          {"kind": "heatmap", "x": "hour", "y": "weekday", "z": "forecast"}, ("center",)),
    Chart("applications", _l("Applications by status"), _l("Applications of your departments "
                                                           "by status."),
          ("admin", "department"), _applications,
          {"kind": "bar", "x": "department", "y": ["count"], "series": "status", "stack": True},
          ("dates",)),
]
