"""Reports on the staff dashboard (through the dashboards feature's charts).

- "Overdue reports": per category, the open reports and those past the category's target
  days; the count is written on the dashboard's tile.
- "Disaster: today by district": listed while disaster mode is on; today's (the city's local
  day) reports counted by district and status.

Both are scoped like the reports pages: department staff count their departments' reports
(`Filters.departments`), admins all.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from dashboards.services import Chart, Filters
from models import District
from models.report import Report, ReportStatus
from reports import services

ROLES = ("admin", "department")
LABELS = {"category": _l("Category"), "overdue": _l("Overdue"), "open": _l("Open"),
          "district": _l("District"), "status": _l("Status"), "count": _l("Reports")}


def in_scope(f: Filters):
    """Return the WHERE clause limiting reports to the filters' departments."""
    if f.departments is None:
        return true()
    return Report.department_id.in_(sorted(f.departments)) if f.departments else false()


def _overdue(session: Session, f: Filters, language: str, now: datetime):
    import pandas as pd  # here, not at import: the worker and clock load this feature
    rows = [{"category": c.name(language), "overdue": late, "open": n}
            for c, late, n in services.overdue_by_category(session, in_scope(f), now)]
    return pd.DataFrame(rows, columns=["category", "overdue", "open"]), {}


def _overdue_headline(session: Session, f: Filters, now: datetime) -> str:
    return gettext("Overdue: %(n)s", n=services.overdue_count(session, in_scope(f), now))


def today_start(f: Filters, now: datetime) -> datetime:
    """Return the start of the city's local day of `now` (as an aware moment)."""
    return f.city.at(f.city.today(now), "00:00")


def _disaster(session: Session, f: Filters, language: str, now: datetime):
    import pandas as pd  # here, not at import: the worker and clock load this feature
    counts = services.counts_by_district(session, in_scope(f), today_start(f, now))
    districts = {d.code: d.name(language) for d in session.scalars(select(District))}
    rows = [{"district": districts.get(code) or code or "—",
             "status": gettext(services.STATUS_NAMES[ReportStatus(status)]), "count": n}
            for code, by_status in sorted(counts.items())
            for status in [s.value for s in ReportStatus] if (n := by_status.get(status))]
    return pd.DataFrame(rows, columns=["district", "status", "count"]), {}


def _disaster_headline(session: Session, f: Filters, now: datetime) -> str:
    counts = services.counts_by_district(session, in_scope(f), today_start(f, now))
    return gettext("Reports today: %(n)s", n=sum(sum(c.values()) for c in counts.values()))


CHARTS = [
    Chart("reports-overdue", _l("Overdue reports"),
          _l("Open citizen reports per category, and those past the category's target days."),
          ROLES, _overdue, {"kind": "bar", "x": "category", "y": ["overdue", "open"]}, (),
          labels=LABELS, headline=_overdue_headline),
    Chart("reports-disaster", _l("Disaster: today's reports by district"),
          _l("Reports of today by district and status (shown while disaster mode is on)."),
          ROLES, _disaster, {"kind": "bar", "x": "district", "y": ["count"], "series": "status",
                             "stack": True}, (),
          labels=LABELS, headline=_disaster_headline, listed=services.disaster_mode,
          empty=_l("No reports today.")),
]
