"""Staff pages of reports: the map with its list, a report's detail and changes, exports,
categories and disaster mode.

Department staff see and change only the reports of their departments (404 otherwise);
admins see all. The reporter is shown only on the detail page, which is audited.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import datetime, time, timedelta


from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, \
    render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from cityhall.city import current_city
from cityhall.languages import language_names
from models import Department, District, Resident, utcnow
from models.report import Report, ReportCategory, ReportPhoto, ReportStatus
from reports import services
from reports.chat import boundary
from reports.services import Filters, ReportRefused
from residents.services import guardian_of
from staff import audit
from staff.access import (current_staff, in_department_scope, require_role, samples,
                          scoped_department_ids, scoped_departments)
from staff.baseform import StaffForm
from staff.database import db_session
from staff.exports import csv_bytes, download
from staff.nav import nav_item
from staff.templating import current_language

bp = Blueprint("reports_staff", __name__, url_prefix="/staff/reports",
               template_folder="templates", static_folder="static", static_url_path="/static")
api = Blueprint("reports_api", __name__, url_prefix="/staff/api/reports")

ROLES = ("admin", "department")
NAV = [nav_item("reports_staff.map_page", _l("Reports"), roles=set(ROLES),
                description=_l("Citizen reports on a map by status; change status, merge "
                               "duplicates, export."), order=40)]
STATUS_LABELS = {s: _l(services.STATUS_NAMES[s]) for s in ReportStatus}  # noqa: INT001
# A history entry's kind (ReportChange.kind), as staff read it.
KIND_LABELS = {"created": _l("Report filed"), "status": _l("Status change"),
               "pass": _l("Passed to another department"), "merge": _l("Merge"),
               "reopen": _l("Reopened by a resident"), "publish": _l("Publication")}
COLOURS = {"received": "#c62828", "in_progress": "#ef6c00", "done": "#2e7d32",
           "not_ours": "#616161", "merged": "#6a1b9a"}
NORMAL_REFRESH, DISASTER_REFRESH = 0, 15


def scope():
    return in_department_scope(Report.department_id)


def _sample_report(session) -> int:
    """File a report for the access test, in the roads department (in the sample scope)."""
    category = services.categories(session)[0]
    found = session.scalars(select(Report).limit(1)).first()
    if found is not None:
        return found.id
    return services.file_report(session, services.NewReport(category, 35.44, 137.0157), None,
                                utcnow(), boundary=boundary(), local_year=2026, source="demo").id


def require_report(report_id: int) -> Report:
    """Return a report in the user's scope, or 404."""
    report = db_session().scalars(select(Report).where(Report.id == report_id, scope())).first()
    if report is None:
        abort(404)
    return report


def parse_filters() -> Filters:
    """Read the map's filters from the query string (bad dates are ignored, said on the page)."""
    args, city = request.args, current_city()

    def day(name: str, end: bool = False) -> datetime | None:
        try:
            value = datetime.strptime(args.get(name, ""), "%Y-%m-%d").date()
        except ValueError:
            return None
        moment = datetime.combine(value + timedelta(days=1 if end else 0), time(0),
                                  tzinfo=city.zone)
        return moment

    def many(name: str) -> tuple[str, ...]:
        return tuple(v for v in args.getlist(name) if v)

    statuses = tuple(s for s in many("status") if s in ReportStatus.__members__.values()
                     or s in {m.value for m in ReportStatus})
    return Filters(categories=many("category"), statuses=statuses,
                   departments=many("department"), since=day("from"), until=day("to", True))


# The map


@bp.get("/")
@require_role(*ROLES)
def map_page():
    """The map of reports coloured by status, with filters and a list beside it."""
    session = db_session()
    disaster = services.disaster_mode(session)
    now = utcnow()
    b = boundary().bounds()
    config = {"api": url_for("reports_api.map_json"), "boundary": url_for(".boundary_json"),
              "detail": url_for(".detail", report_id=0).replace("/0", "/{id}"),
              "tiles": current_app.config.get("REPORTS_TILE_URL") or "",
              "attribution": current_app.config.get("REPORTS_TILE_ATTRIBUTION") or "",
              "bounds": [[b[1], b[0]], [b[3], b[2]]],
              "refresh": DISASTER_REFRESH if disaster else NORMAL_REFRESH,
              "colours": COLOURS,
              "statuses": {s.value: str(STATUS_LABELS[s]) for s in ReportStatus},
              "categories": {c.code: c.name(current_language())
                             for c in services.categories(session)},
              "labels": {"overdue": gettext("overdue"), "open": gettext("Open"),
                         "count": gettext("%(n)s reports shown")}}
    district_counts = {}
    if disaster:
        start = datetime.combine(current_city().today(now), time(0), tzinfo=current_city().zone)
        district_counts = services.counts_by_district(session, scope(), start)
    return render_template(
        "reports/map.html", config=json.dumps(config, ensure_ascii=False),
        categories=services.categories(session), statuses=list(ReportStatus),
        status_labels=STATUS_LABELS, departments=scoped_departments(session),
        overdue=services.overdue_count(session, scope(), now), disaster=disaster,
        district_counts=district_counts, districts={d.code: d for d in
                                                    session.scalars(select(District))},
        colours=COLOURS, args=request.args)


@bp.get("/boundary.geojson")
@require_role(*ROLES)
def boundary_json():
    """The city's outline, drawn on the map."""
    return jsonify(boundary().geojson)


class MapCache:
    """The last few serialized map bodies of this process, by ETag (least recently used out).

    An ETag is a digest of everything a body depends on: the viewer's departments, the
    filters, `services.map_version` (count, highest id, latest change, target days) and the
    current minute, since a report becomes overdue with time alone. A change to a report moves
    its `updated_at` or the count; a change committed with an older `updated_at` than one
    already seen (two staff at once) is still shown within the minute.
    """

    SIZE = 8

    def __init__(self) -> None:
        self.bodies: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self.lock:
            body = self.bodies.get(etag)
            if body is not None:
                self.bodies.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        with self.lock:
            self.bodies[etag] = body
            while len(self.bodies) > self.SIZE:
                self.bodies.popitem(last=False)


def map_cache() -> MapCache:
    """This app's cache (per app: tests build many apps, each on its own database)."""
    return current_app.extensions.setdefault("reports.map_cache", MapCache())


def map_etag(session, f: Filters, now: datetime) -> str:
    departments = scoped_department_ids()
    key = (None if departments is None else sorted(departments), f,
           services.map_version(session, scope(), f), now.replace(second=0, microsecond=0))
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


@api.get("/map")
@require_role(*ROLES)
def map_json():
    """Markers for the map, rows of services.MAP_FIELDS (no personal data).

    The body is built once per version of the reports in view and served from the cache (or
    answered 304 to a browser that has it) until a report changes or the minute turns.
    """
    session, f, now = db_session(), parse_filters(), utcnow()
    etag = map_etag(session, f, now)
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        body = map_cache().get(etag)
        if body is None:
            body = services.map_body(session, scope(), f, now)
            map_cache().put(etag, body)
        response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"  # always revalidated
    return response


# One report


def _report_subject(report_id: int) -> str:
    return f"report:{report_id}"


class StatusForm(StaffForm):
    status = SelectField(_l("New status"), choices=[])
    public_comment = TextAreaField(_l("Comment for the reporter and followers, in Japanese (sent "
                                      "by LINE; read by everyone whose language has no text)"),
                                   validators=[Optional(), Length(max=500)])
    internal_note = TextAreaField(_l("Internal note (staff only)"),
                                  validators=[Optional(), Length(max=1000)])
    passed_to = StringField(_l("Passed to (for \"not handled by the city\")"),
                            validators=[Optional(), Length(max=200)])


class PassForm(StaffForm):
    department = SelectField(_l("Department"), choices=[], validators=[DataRequired()])
    note = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class MergeForm(StaffForm):
    keep = StringField(_l("Receipt number of the report to keep"),
                       validators=[DataRequired(), Length(max=32)])


class PublishForm(StaffForm):
    public = BooleanField(_l("Publish (Open311, with the first photo)"))


def comment_field(code: str) -> str:
    """The form field of the public comment in a language ("pt-BR" -> "comment_pt_BR")."""
    return "comment_" + code.replace("-", "_")


def comment_languages() -> dict[str, str]:
    """Code -> own name of the languages, other than Japanese, a comment may be written in."""
    return {code: name for code, name in language_names().items() if code != "ja"}


def status_form() -> StatusForm:
    """The status form with a comment field per resident language (this deployment's list)."""
    fields = {comment_field(code): TextAreaField(name, validators=[Optional(), Length(max=500)],
                                                 render_kw={"lang": code, "rows": 2})
              for code, name in comment_languages().items()}
    return type("StatusFormInLanguages", (StatusForm,), fields)(prefix="st")


def comment_translations(form: StatusForm) -> dict[str, str]:
    """Language -> the comment typed for it (empty ones left out)."""
    found = {code: (form[comment_field(code)].data or "").strip() for code in comment_languages()}
    return {code: text for code, text in found.items() if text}


def forms_for(report: Report) -> dict[str, StaffForm]:
    session = db_session()
    status = status_form()
    status.status.choices = [(s.value, str(STATUS_LABELS[s])) for s in ReportStatus
                             if s != ReportStatus.MERGED]
    if not status.is_submitted():
        status.status.data = report.status.value
    passing = PassForm(prefix="pa")
    passing.department.choices = [(d.code, d.name(current_language()))
                                  for d in session.scalars(select(Department).where(
                                      Department.active).order_by(Department.code))]
    publish = PublishForm(prefix="pu")
    if not publish.is_submitted():
        publish.public.data = report.public
    return {"status": status, "pass": passing, "merge": MergeForm(prefix="me"),
            "publish": publish}


def reporter_of(report: Report) -> dict[str, str | None] | None:
    """Describe the reporter for the owning department: LINE name, registration, consent,
    and the language they read the updates in."""
    if report.resident_id is None:
        return None
    session = db_session()
    resident = session.get(Resident, report.resident_id)
    guardian = guardian_of(session, resident) if resident else None
    code = services.reader_language(resident) if resident else None
    return {"display_name": resident.display_name if resident else None,
            "name": guardian.name if guardian else None,
            "phone": guardian.phone if guardian and report.contact_ok else None,
            "language_code": code, "language": language_names().get(code or "", code)}


def readers(report: Report) -> list[tuple[str, str, int]]:
    """(code, own name, people) of each language the reporter and followers read, in the
    order of the deployment's languages."""
    counts = services.audience_languages(db_session(), report)
    names = language_names()
    return [(code, names.get(code, code), counts[code])
            for code in [*names, *sorted(set(counts) - set(names))] if code in counts]


def render_detail(report: Report, forms: dict[str, StaffForm], code: int = 200):
    session = db_session()
    departments = {d.id: d for d in session.scalars(select(Department))}
    kept = session.get(Report, report.duplicate_of_id) if report.duplicate_of_id else None
    found = readers(report)
    return render_template(
        "reports/detail.html", report=report, forms=forms, reporter=reporter_of(report),
        departments=departments, status_labels=STATUS_LABELS, kept=kept, readers=found,
        reader_counts={code: n for code, _name, n in found},
        comment_languages=comment_languages(), comment_field=comment_field,
        kind_labels=KIND_LABELS, language_names=language_names(),
        overdue=services.overdue(report, report.category, utcnow()),
        city=current_city(), colours=COLOURS), code


@bp.get("/<int:report_id>")
@require_role(*ROLES)
@samples(report_id=_sample_report)
@audit.audit_personal_view("report", subject=_report_subject)
def detail(report_id: int):
    """A report with its photos, history, reporter (audited) and the changes staff can make."""
    report = require_report(report_id)
    return render_detail(report, forms_for(report))


@bp.get("/photos/<int:photo_id>")
@require_role(*ROLES)
@samples(photo_id=lambda s: _sample_photo(s))
@audit.audit_personal_view("report_photo", subject=lambda photo_id: f"report_photo:{photo_id}")
def photo(photo_id: int):
    """One photo of a report in the user's scope."""
    found = db_session().get(ReportPhoto, photo_id)
    if found is None:
        abort(404)
    require_report(found.report_id)
    return Response(found.data, mimetype="image/jpeg")


def _sample_photo(session) -> int:
    report = session.get(Report, _sample_report(session))
    if not report.photos:
        report.photos.append(ReportPhoto(kind="report", width=1, height=1, data=b"\xff\xd8",
                                         sha256="0" * 64))
        session.flush()
    return report.photos[0].id


def _locked(report_id: int) -> Report:
    require_report(report_id)
    return services.lock(db_session(), report_id)


def _by() -> str:
    return current_staff().username


@bp.post("/<int:report_id>/status")
@require_role(*ROLES)
@samples(report_id=_sample_report)
@audit.audit_personal_view("report", subject=_report_subject)
def change_status(report_id: int):
    """Change the status with a public comment and an internal note; pushes go once."""
    session = db_session()
    report = _locked(report_id)
    forms = forms_for(report)
    form = forms["status"]
    if not form.validate_on_submit():
        return render_detail(report, forms, 400)
    try:
        changed = services.change_status(
            session, report, ReportStatus(form.status.data), utcnow(), by=_by(),
            public_comment=(form.public_comment.data or "").strip() or None,
            internal_note=(form.internal_note.data or "").strip() or None,
            passed_to=(form.passed_to.data or "").strip() or None,
            translations=comment_translations(form))
    except ReportRefused as refused:
        form.form_errors.append(gettext(refused.message, **refused.variables))
        return render_detail(report, forms, 400)
    audit.record(session, "report.status", target=f"report:{report.id}",
                 detail={"status": report.status.value, "pushed": changed})
    session.commit()
    flash(gettext("Saved. The reporter and followers are told.") if changed
          else gettext("Saved."), "info")
    fallback = report.changes[-1].detail.get("japanese_instead") if changed else None
    if fallback:
        flash(gettext("%(n)s of them get the Japanese comment, as their language has no text: "
                      "%(languages)s.", n=sum(fallback.values()),
                      languages=languages_line(fallback)), "info")
    return redirect(url_for(".detail", report_id=report.id))


def languages_line(counts: dict[str, int]) -> str:
    """"Tiếng Việt 1, नेपाली 2" from language -> people."""
    names = language_names()
    return ", ".join(f"{names.get(code, code)} {n}" for code, n in counts.items())


@bp.post("/<int:report_id>/pass")
@require_role(*ROLES)
@samples(report_id=_sample_report)
def pass_report(report_id: int):
    """Give the report to another department (audited)."""
    session = db_session()
    report = _locked(report_id)
    forms = forms_for(report)
    form = forms["pass"]
    if not form.validate_on_submit():
        return render_detail(report, forms, 400)
    department = session.scalars(select(Department).where(
        Department.code == form.department.data)).one()
    before = report.department_id
    if services.pass_to_department(session, report, department, utcnow(), by=_by(),
                                   note=(form.note.data or "").strip() or None):
        audit.record(session, "report.pass", target=f"report:{report.id}",
                     detail={"from": before, "to": department.code})
        flash(gettext("Passed to %(department)s.", department=department.name(
            current_language())), "info")
    session.commit()
    still_ours = session.scalars(select(Report.id).where(Report.id == report.id,
                                                         scope())).first()
    return redirect(url_for(".detail", report_id=report.id) if still_ours
                    else url_for(".map_page"))


@bp.post("/<int:report_id>/merge")
@require_role(*ROLES)
@samples(report_id=_sample_report)
def merge(report_id: int):
    """Mark this report as a duplicate of another in scope; its people follow that one."""
    session = db_session()
    report = _locked(report_id)
    forms = forms_for(report)
    form = forms["merge"]
    if not form.validate_on_submit():
        return render_detail(report, forms, 400)
    keep = session.scalars(select(Report).where(Report.receipt_no == form.keep.data.strip(),
                                                scope())).first()
    if keep is None:
        form.keep.errors = [*form.keep.errors, gettext("No report with this receipt number.")]
        return render_detail(report, forms, 400)
    try:
        moved = services.merge(session, report, keep, utcnow(), by=_by())
    except ReportRefused as refused:
        form.form_errors.append(gettext(refused.message, **refused.variables))
        return render_detail(report, forms, 400)
    audit.record(session, "report.merge", target=f"report:{report.id}",
                 detail={"into": keep.receipt_no, "people": moved})
    session.commit()
    flash(gettext("Merged into %(receipt)s.", receipt=keep.receipt_no), "info")
    return redirect(url_for(".detail", report_id=keep.id))


@bp.post("/<int:report_id>/publish")
@require_role(*ROLES)
@samples(report_id=_sample_report)
def publish(report_id: int):
    """Approve the report and its first photo for Open311 (or withdraw it)."""
    session = db_session()
    report = _locked(report_id)
    form = forms_for(report)["publish"]
    if form.validate_on_submit():
        services.set_public(session, report, bool(form.public.data), utcnow(), by=_by())
        audit.record(session, "report.publish", target=f"report:{report.id}",
                     detail={"public": report.public})
        session.commit()
        flash(gettext("Published.") if report.public else gettext("Not published."), "info")
    return redirect(url_for(".detail", report_id=report.id))


# Exports (no personal data: no reporter, comment or notes)


def export_reports() -> list[dict]:
    session = db_session()
    query = services.filtered(select(Report).where(scope()), parse_filters()).order_by(Report.id)
    return services.export_rows(session, session.scalars(query), utcnow())


@bp.get("/export.csv")
@require_role(*ROLES)
def export_csv():
    """All reports in scope (with the map's filters) as CSV."""
    rows = export_reports()
    body = csv_bytes(services.EXPORT_FIELDS, ([r[k] for k in services.EXPORT_FIELDS] for r in rows))
    return download(body, "text/csv", "reports.csv")


@bp.get("/export.geojson")
@require_role(*ROLES)
def export_geojson():
    """All reports in scope as a GeoJSON FeatureCollection (WGS84) for the city's GIS."""
    body = json.dumps(services.to_geojson(export_reports()), ensure_ascii=False).encode()
    return download(body, "application/geo+json", "reports.geojson")


# Categories and disaster mode (admins)


class CategoryForm(StaffForm):
    department = SelectField(_l("Department"), choices=[], validators=[DataRequired()])
    target_days = IntegerField(_l("Target days"), validators=[DataRequired(),
                                                              NumberRange(1, 365)])


class DisasterForm(StaffForm):
    on = BooleanField(_l("Disaster mode"))


@bp.get("/categories")
@require_role("admin")
def categories():
    """Each category's department and target days, and the disaster-mode switch."""
    session = db_session()
    return render_template("reports/categories.html", rows=_category_forms(session),
                           disaster=DisasterForm(on=services.disaster_mode(session)))


def _category_forms(session, posted: ReportCategory | None = None,
                    form: CategoryForm | None = None) -> list[tuple[ReportCategory, CategoryForm]]:
    choices = [(d.code, d.name(current_language()))
               for d in session.scalars(select(Department).order_by(Department.code))]
    codes = {d.id: d.code for d in session.scalars(select(Department))}
    rows = []
    for category in services.categories(session):
        if category is posted and form is not None:
            rows.append((category, form))
            continue
        f = CategoryForm(prefix=f"c{category.id}", formdata=None,
                         department=codes[category.department_id],
                         target_days=category.target_days)
        f.department.choices = choices
        rows.append((category, f))
    return rows


@bp.post("/categories/<code>")
@require_role("admin")
@samples(code="road")
def edit_category(code: str):
    """Route a category to a department and set its target days (audited)."""
    session = db_session()
    services.categories(session)
    category = services.category_by_code(session, code)
    if category is None:
        abort(404)
    form = CategoryForm(prefix=f"c{category.id}")
    form.department.choices = [(d.code, d.name(current_language()))
                               for d in session.scalars(select(Department))]
    if not form.validate_on_submit():
        return render_template("reports/categories.html",
                               rows=_category_forms(session, category, form),
                               disaster=DisasterForm(on=services.disaster_mode(session))), 400
    department = session.scalars(select(Department).where(
        Department.code == form.department.data)).one()
    before = {"department": category.department_id, "target_days": category.target_days}
    category.department_id, category.target_days = department.id, form.target_days.data
    audit.record(session, "report_category.update", target=f"report_category:{code}",
                 detail=audit.changes(before, {"department": department.id,
                                               "target_days": form.target_days.data}))
    session.commit()
    flash(gettext("Saved."), "info")
    return redirect(url_for(".categories"))


@bp.post("/disaster")
@require_role("admin")
def disaster():
    """Switch disaster mode on or off (audited)."""
    session = db_session()
    form = DisasterForm()
    if form.validate_on_submit():
        services.set_disaster_mode(session, bool(form.on.data), utcnow())
        audit.record(session, "reports.disaster_mode", detail={"on": bool(form.on.data)})
        session.commit()
        flash(gettext("Disaster mode is on.") if form.on.data else
              gettext("Disaster mode is off."), "info")
    return redirect(url_for(".categories"))
