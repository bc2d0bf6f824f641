"""Staff pages, JSON endpoints and CSV/Excel downloads of the dashboards.

Each chart in dashboards.charts gets a page, `/staff/api/dashboards/<chart>` and
`<chart>.csv` / `<chart>.xlsx`; all go through staff.access (a center outside the user's
scope is 404) and the data endpoints are audited. The page itself holds no figures: its
script (static/dashboards.js) draws them with Plotly served from the installed package.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.util import find_spec
from pathlib import Path
import json
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from cityhall.city import current_city
from dashboards import aggregate, plotly_css
from dashboards.charts import AGE_BAND_LABELS, LABELS, Chart
from dashboards.queries import GRAINS, Filters
from models import utcnow
from staff import audit, exports
from staff.access import current_staff, require_role, scoped_centers, scoped_department_ids
from staff.args import DATE_RANGE_MESSAGE, MAX_DATE, MIN_DATE, parse_date
from staff.database import db_session
from staff.errors import BadArgument
from staff.nav import nav_item
from staff.templating import current_language

if TYPE_CHECKING:  # pandas loads where a frame is built, never in the worker or clock
    import pandas as pd

bp = Blueprint("dashboards", __name__, url_prefix="/staff/dashboards",
               template_folder="templates", static_folder="static", static_url_path="/static")
api = Blueprint("dashboards_api", __name__, url_prefix="/staff/api/dashboards")
# Plotly's JavaScript straight from the installed `plotly` package: no CDN, works offline.
# Found, not imported: importing plotly would load it into the worker and clock too.
PLOTLY_DIR = Path(find_spec("plotly").submodule_search_locations[0])
vendor = Blueprint("dashboards_vendor", __name__, url_prefix="/staff/dashboards/vendor",
                   static_folder=str(PLOTLY_DIR / "package_data"), static_url_path="/plotly")

NAV = [
    nav_item("dashboards.index", _l("Dashboards"), roles={"admin", "center", "department"},
             description=_l("Visits by day, weekday and hour, district, child age; forecast; "
                            "applications by status; CSV and Excel."), order=40),
]
DEFAULT_DAYS = 90
MAX_DAYS = 5 * 366


@bp.get("/")
@require_role("admin", "center", "department")
def index():
    """List the dashboards this staff member may open."""
    from cityhall.features import current

    role, session = current_staff().role.value, db_session()
    charts = [c for c in current().charts.values()
              if role in c.roles and (c.listed is None or c.listed(session))]
    return render_template("dashboards/index.html", as_of=_as_of(), charts=charts,
                           headlines={c.slug: headline(c) for c in charts})


def headline(chart: Chart) -> str | None:
    """Return the figure a chart writes on its tile, for the default filters in scope."""
    if chart.headline is None:
        return None
    try:
        f = filters(chart)
    except FilterErrors:
        return None
    return chart.headline(db_session(), f, utcnow())


def _as_of() -> str | None:
    moment = aggregate.last_run(db_session())
    return current_city().local(moment).strftime("%Y-%m-%d %H:%M") if moment else None


class FilterErrors(Exception):
    """Filters that cannot be shown: a reason per field (answered with 400)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def filters(chart: Chart) -> Filters:
    """Read the filters from the query string; raise FilterErrors naming each bad one.

    A center that is unknown or outside the scope gets one and the same message, so the
    answer does not tell whether another center's code exists.
    """
    session, args, city = db_session(), request.args, current_city()
    errors: dict[str, str] = {}
    centers = tuple(scoped_centers(session))
    if code := args.get("center", "").strip():
        found = [c for c in centers if c.code == code]
        if not found:
            errors["center"] = gettext("Choose one of your centers.")
        centers = tuple(found)
    start, end = _date(args, "start", errors), _date(args, "end", errors)
    if "start" not in errors and "end" not in errors:
        end = end or city.today(utcnow())
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            errors["end"] = gettext("The end date is before the start date.")
        elif (end - start).days > MAX_DAYS:
            errors["start"] = gettext("Choose at most five years.")
    band, grain = args.get("band") or None, args.get("grain") or "day"
    if band is not None and band not in AGE_BAND_LABELS:
        errors["band"] = gettext("Choose an age band from the list.")
    if grain not in GRAINS:
        errors["grain"] = gettext("Choose day, week or month.")
    if errors:
        raise FilterErrors(errors)
    departments = scoped_department_ids()
    return Filters(centers, start, end, band if "band" in chart.filters else None, grain,
                   city=city, departments=None if departments is None else frozenset(departments))


def _date(args, name: str, errors: dict[str, str]) -> date | None:
    """Return the date in argument `name` (None when absent), noting an unusable one."""
    text = args.get(name, "").strip()
    value = parse_date(text) if text else None
    if text and value is None:
        errors[name] = gettext(DATE_RANGE_MESSAGE, first=MIN_DATE.isoformat(),
                               last=MAX_DATE.isoformat())
    return value


def refused(chart: Chart, problem: FilterErrors):
    """Answer bad filters: JSON with the reasons under /staff/api, else the form re-shown."""
    if request.path.startswith("/staff/api/"):
        message = " ".join(f"{BadArgument(name).translated()} {reason}"
                           for name, reason in problem.errors.items())
        return jsonify(error=400, message=message, fields=problem.errors), 400
    return render_page(chart, None, problem.errors), 400


def chart_frame(chart: Chart) -> tuple[pd.DataFrame, dict, Filters]:
    """Compute a chart's table for the request's filters."""
    f = filters(chart)
    frame, extra = chart.build(db_session(), f, current_language(), utcnow())
    return frame, extra, f


def record(chart: Chart, f: Filters, kind: str, rows: int) -> None:
    """Audit one view or download of a chart's data."""
    session = db_session()
    audit.record(session, "dashboard.export" if kind != "json" else "dashboard.view",
                 target=f"dashboard:{chart.slug}",
                 detail={"chart": chart.slug, "format": kind, "rows": rows,
                         "centers": [c.code for c in f.centers], "start": f.start.isoformat(),
                         "end": f.end.isoformat(), "band": f.band})
    session.commit()


def payload(chart: Chart, frame: pd.DataFrame, extra: dict, f: Filters) -> dict:
    """Return a chart's JSON: plot spec, column labels, rows and extras."""
    table = json.loads(frame.astype({c: str for c in ("period", "date") if c in frame})
                       .to_json(orient="split", index=False))
    return {"chart": chart.slug, "title": str(chart.title), "plot": chart.plot,
            "labels": {c: str(chart.labels.get(c, LABELS.get(c, c))) for c in frame.columns},
            "columns": table["columns"], "rows": table["data"], "extra": extra,
            "filters": {"centers": [c.code for c in f.centers], "start": f.start.isoformat(),
                        "end": f.end.isoformat(), "band": f.band, "grain": f.grain},
            "as_of": _as_of()}


def labelled(frame: pd.DataFrame, chart: Chart | None = None) -> pd.DataFrame:
    """Return the frame with column headers in the page's language, for downloads."""
    own = chart.labels if chart is not None else {}
    return frame.rename(columns={c: str(own.get(c, LABELS.get(c, c))) for c in frame.columns})


def csv_response(chart: Chart, frame: pd.DataFrame) -> Response:
    # A byte-order mark, so Excel opens the Japanese text as UTF-8; formulas come out as text.
    return exports.download(exports.frame_csv(labelled(frame, chart)), exports.CSV_MIMETYPE,
                            f"{chart.slug}.csv")


def xlsx_response(chart: Chart, frame: pd.DataFrame) -> Response:
    return exports.download(exports.frame_xlsx(labelled(frame, chart), chart.slug),
                            exports.XLSX_MIMETYPE, f"{chart.slug}.xlsx")


def render_page(chart: Chart, f: Filters | None, errors: dict[str, str]) -> str:
    """Render a chart's page: its filter form (with any errors) and, when valid, the chart."""
    return render_template("dashboards/chart.html", chart=chart, f=f, errors=errors,
                           values=request.args, centers=scoped_centers(db_session()),
                           bands=AGE_BAND_LABELS, grains=GRAINS,
                           query=request.query_string.decode(),
                           endpoint=url_for(f"dashboards_api.{chart.slug}"), as_of=_as_of(),
                           style_ids=plotly_css.injected_style_ids())


def page_view(chart: Chart):
    """Return the view rendering a chart's page (the data comes from its JSON endpoint)."""
    def view():
        try:
            return render_page(chart, filters(chart), {})
        except FilterErrors as problem:
            return refused(chart, problem)
    return view


def data_view(chart: Chart, kind: str):
    """Return the view answering a chart's data as JSON, CSV or Excel."""
    def view():
        try:
            frame, extra, f = chart_frame(chart)
        except FilterErrors as problem:
            return refused(chart, problem)
        record(chart, f, kind, len(frame))
        if kind == "csv":
            return csv_response(chart, frame)
        if kind == "xlsx":
            return xlsx_response(chart, frame)
        return jsonify(payload(chart, frame, extra, f))
    return view


_routed: set[str] = set()


def add_routes(charts: list[Chart]) -> None:
    """Add the page, JSON, CSV and Excel routes of every chart, each behind its roles.

    The charts are every loaded feature's (`Feature.charts`); a blueprint takes routes only
    until its first registration, so the first app built in a process fixes them.
    """
    for chart in [c for c in charts if c.slug not in _routed]:
        _routed.add(chart.slug)
        guard = require_role(*chart.roles)
        bp.add_url_rule(f"/{chart.slug}", chart.slug, guard(page_view(chart)))
        api.add_url_rule(f"/{chart.slug}", chart.slug, guard(data_view(chart, "json")))
        for kind in ("csv", "xlsx"):
            bp.add_url_rule(f"/{chart.slug}.{kind}", f"{chart.slug}_{kind}",
                            guard(data_view(chart, kind)))

