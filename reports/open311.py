"""Open311 GeoReport v2 under /open311/v2/: services, service definitions, requests.

Only reports staff approved for publication are listed, with no personal data: no
reporter, no contact consent, no internal note. `media_url` is the first photo, already
re-encoded without metadata when it was received, served only while the report is public.
`POST requests.json` takes an `api_key` from OPEN311_API_KEYS (partner apps); without keys
configured it answers 403.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request, url_for
from sqlalchemy import select

from cityhall.city import current_city
from cityhall.db import db
from cityhall.text import find_forbidden
from models import Department, utcnow
from models.report import OPEN_STATUSES, Report, ReportCategory, ReportPhoto, ReportStatus
from reports import services
from reports.chat import boundary

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

DEFAULT_DAYS = 90  # the spec's default window when no dates are given
MAX_RESULTS = 1000  # the spec lets a server cap the list; 1000 is what it suggests
DISASTER_ATTRIBUTES = [("injured", "Is anyone hurt?"), ("passable", "Can vehicles pass the road?")]


def init_app(app: Flask) -> None:
    """Partner apps post without a CSRF token: the API key is their credential."""
    from staff.security import csrf

    csrf.exempt(bp)


def errors(code: int, description: str) -> tuple[Response, int]:
    """Answer in the spec's error format: a list of {code, description}."""
    return jsonify([{"code": code, "description": description}]), code


def w3c(moment: datetime | None) -> str | None:
    """A W3C datetime with the city's offset, e.g. 2026-12-01T09:30:00+09:00."""
    return current_city().local(moment).isoformat(timespec="seconds") if moment else None


def parse_w3c(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=current_city().zone)


def service(category: ReportCategory) -> dict:
    return {"service_code": category.code, "service_name": category.name_ja,
            "description": f"{category.name_ja} / {category.name_en}",
            "metadata": category.code == services.DISASTER, "type": "realtime",
            "keywords": category.name_en.lower(), "group": "reports"}


@bp.get("/services.json")
def services_json():
    """The service list: one service per active category."""
    with db.session() as session:
        return jsonify([service(c) for c in services.categories(session)])


@bp.get("/services/<code>.json")
def service_definition(code: str):
    """A service's definition: its extra questions (disaster damage has two)."""
    with db.session() as session:
        services.categories(session)
        category = services.category_by_code(session, code)
        if category is None or not category.active:
            return errors(404, f"unknown service_code {code}")
        attributes = []
        if code == services.DISASTER:
            attributes = [{"variable": True, "code": key, "datatype": "singlevaluelist",
                           "required": False, "datatype_description": "", "order": i + 1,
                           "description": text,
                           "values": [{"key": "yes", "name": "yes"}, {"key": "no", "name": "no"}]}
                          for i, (key, text) in enumerate(DISASTER_ATTRIBUTES)]
        return jsonify({"service_code": code, "attributes": attributes})


def public_request(session, report: Report, departments: dict[int, Department]) -> dict:
    """One report as the spec's service request, without personal data."""
    first = session.scalars(select(ReportPhoto.id).where(
        ReportPhoto.report_id == report.id, ReportPhoto.kind == "report")
        .order_by(ReportPhoto.id).limit(1)).first()
    department = departments.get(report.department_id)
    agency = report.passed_to if report.status == ReportStatus.NOT_OURS and report.passed_to \
        else (department.name_ja if department else None)
    return {
        "service_request_id": report.receipt_no,
        "status": "open" if report.status in OPEN_STATUSES else "closed",
        "status_notes": report.public_comment,
        "service_name": report.category.name_ja, "service_code": report.category.code,
        "description": report.comment, "agency_responsible": agency, "service_notice": None,
        "requested_datetime": w3c(report.created_at), "updated_datetime": w3c(report.updated_at),
        "expected_datetime": None, "address": report.address, "address_id": None,
        "zipcode": None, "lat": report.latitude, "long": report.longitude,
        "media_url": url_for(".media", receipt=report.receipt_no, _external=True)
        if first else None,
    }


@bp.get("/requests.json")
def requests_json():
    """Public requests with the spec's filters: ids, service_code, status, start/end dates."""
    args = request.args
    try:
        start, end = parse_w3c(args.get("start_date")), parse_w3c(args.get("end_date"))
    except ValueError:
        return errors(400, "start_date and end_date must be W3C datetimes")
    query = select(Report).where(Report.public, Report.status != ReportStatus.MERGED)
    ids = [i.strip() for i in (args.get("service_request_id") or "").split(",") if i.strip()]
    if ids:
        query = query.where(Report.receipt_no.in_(ids))
    else:
        if start is None and end is None:
            start = utcnow() - timedelta(days=DEFAULT_DAYS)
        if start is not None:
            query = query.where(Report.created_at >= start)
        if end is not None:
            query = query.where(Report.created_at <= end)
        codes = [c.strip() for c in (args.get("service_code") or "").split(",") if c.strip()]
        if codes:
            query = query.where(Report.category_id.in_(select(ReportCategory.id).where(
                ReportCategory.code.in_(codes))))
        wanted = {s.strip() for s in (args.get("status") or "").split(",") if s.strip()}
        if wanted - {"open", "closed"}:
            return errors(400, "status must be open or closed")
        if wanted == {"open"}:
            query = query.where(Report.status.in_(OPEN_STATUSES))
        elif wanted == {"closed"}:
            query = query.where(Report.status.not_in(OPEN_STATUSES))
    with db.session() as session:
        departments = {d.id: d for d in session.scalars(select(Department))}
        rows = session.scalars(query.order_by(Report.created_at.desc()).limit(MAX_RESULTS))
        return jsonify([public_request(session, r, departments) for r in rows])


@bp.get("/requests/<receipt>.json")
def request_json(receipt: str):
    """One public request, as a list of one (the spec's shape)."""
    with db.session() as session:
        report = session.scalars(select(Report).where(
            Report.receipt_no == receipt, Report.public,
            Report.status != ReportStatus.MERGED)).first()
        if report is None:
            return errors(404, f"no public service request {receipt}")
        departments = {d.id: d for d in session.scalars(select(Department))}
        return jsonify([public_request(session, report, departments)])


@bp.get("/media/<receipt>.jpg")
def media(receipt: str):
    """The first photo of a public report (metadata-free JPEG)."""
    with db.session() as session:
        report = session.scalars(select(Report).where(Report.receipt_no == receipt,
                                                      Report.public)).first()
        photo = session.scalars(select(ReportPhoto).where(
            ReportPhoto.report_id == report.id, ReportPhoto.kind == "report")
            .order_by(ReportPhoto.id).limit(1)).first() if report else None
        if photo is None:
            abort(404)
        return Response(photo.data, mimetype="image/jpeg",
                        headers={"Cache-Control": "public, max-age=300"})


def api_key_ok(key: str | None) -> bool:
    keys = [k.strip() for k in (current_app.config.get("OPEN311_API_KEYS") or "").split(",")
            if k.strip()]
    return bool(key) and any(hmac.compare_digest(key, k) for k in keys)


@bp.post("/requests.json")
def create_request():
    """A partner app files a report (api_key, service_code, lat, long, description)."""
    form = request.form
    if not api_key_ok(form.get("api_key")):
        return errors(403, "a valid api_key is required")
    try:
        lat, lon = float(form.get("lat", "")), float(form.get("long", ""))
    except ValueError:
        return errors(400, "lat and long are required (WGS84 decimal degrees)")
    description = (form.get("description") or "").strip()[:500] or None
    if description and find_forbidden(description, True) is not None:
        return errors(400, "description holds control characters")
    with db.transaction() as session:
        services.categories(session)  # creates the default categories on a fresh database
        category = services.category_by_code(session, form.get("service_code", ""))
        if category is None or not category.active:
            return errors(400, "unknown service_code")
        details = {k: form.get(f"attribute[{k}]") == "yes" for k, _ in DISASTER_ATTRIBUTES
                   if form.get(f"attribute[{k}]") in ("yes", "no")}
        new = services.NewReport(category, lat, lon, address=(form.get("address_string")
                                                              or "").strip()[:300] or None,
                                 comment=description, details=details)
        try:
            report = services.file_report(session, new, None, utcnow(), boundary=boundary(),
                                          local_year=current_city().today(utcnow()).year,
                                          source="open311")
        except services.ReportRefused:
            return errors(400, f"the point is outside {boundary().name_en}")
        receipt = report.receipt_no
    return jsonify([{"service_request_id": receipt, "service_notice": None,
                     "account_id": None}]), 201
