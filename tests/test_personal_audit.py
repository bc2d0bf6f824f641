"""Every staff route that shows personal data is marked with @audit_personal_view and audited.

The walk takes the routes from the app's URL map (so a new page is checked without editing
this file), opens each as an admin over a city holding one family with distinctive values,
and looks for those values in the answer: a route that shows any of them must carry the mark
and leave an audit entry; a marked route that answers must leave one too.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

from sqlalchemy import func, select

from checkin import services as checkin_services
from cityhall.city import current_city
from cityhall.db import db
from models import Center, Resident, utcnow
from models.application import Submission, SubmissionStatus, Upload
from models.audit import AuditLog
from residents import services as resident_services
from staff.access import ACCESS_ATTR, PUBLIC
from staff.audit import PERSONAL_ATTR
from tests.staff_support import StaffClient, staff_app  # noqa: F401
from tests.test_staff_access import call, fill, staff_routes, url

GUARDIAN, CHILD, PHONE, NOTE, WALK_IN = ("監査対象花子", "監査対象太郎", "09077776666",
                                         "Zebracorn-allergy", "監査歩来")
MARKERS = (GUARDIAN, CHILD, PHONE, NOTE, WALK_IN)
# The routes that must be found showing the family: proof the walk reaches personal data.
EXPECTED = {"checkin_staff.roster", "checkin_api.roster_json", "applications_staff.submission",
            "applications_api.submission_json", "applications_staff.photo",
            "applications_staff.change_status"}


def seed_family(app) -> dict[str, int]:
    """Register a family with distinctive values, check it in, store an application with a photo."""
    with app.app_context(), db.transaction() as session:
        resident = Resident(line_user_id="Uaudited", language="ja", language_chosen=True)
        session.add(resident)
        session.flush()
        guardian = resident_services.register(session, resident, {
            "name": GUARDIAN, "kana": "カンサタイショウ ハナコ", "phone": PHONE,
            "postal_code": "505-0041", "address": "太田町1", "district": "ota",
            "children": [{"name": CHILD, "kana": "カンサ タロウ", "birth_date": "2022-05-03",
                          "notes": NOTE}]}, utcnow())
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        visit, _ = checkin_services.check_in(session, center, guardian,
                                             guardian.household.children, utcnow(), "poster",
                                             resident, city=current_city())
        checkin_services.check_in_walk_in(session, center, WALK_IN, "ota", [date(2023, 1, 1)],
                                          utcnow(), city=current_city())
        # The photo's bytes carry an ASCII marker, so the walk sees the photo route show it.
        upload = Upload(content_type="image/png", data=b"\x89PNG\r\n" + NOTE.encode(),
                        sha256="1" * 64)
        session.add(upload)
        session.flush()
        child = guardian.household.children[0]
        submission = Submission(
            receipt_no="A-2026-900001", form_id="childcare", department_code="childcare",
            resident_id=resident.id, household_id=guardian.household_id,
            answers={"child": {"id": child.id, "name": CHILD}, "contact_phone": PHONE,
                     "notes": NOTE, "photo": {"upload_id": upload.id,
                                              "content_type": "image/png", "bytes": 12}},
            status=SubmissionStatus.RECEIVED)
        session.add(submission)
        session.flush()
        return {"submission_id": submission.id, "upload_id": upload.id, "visit_id": visit.id}


def shown_text(response) -> str:
    """Return what the answer shows as text: JSON decoded, Excel unzipped, bytes as they are."""
    data = response.get_data()
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return data.decode("utf-8", "replace")


def last_audit_id(app) -> int:
    with app.app_context(), db.session() as session:
        return session.scalar(select(func.max(AuditLog.id))) or 0


def view_entries(app, since: int, window: timedelta | None = None) -> list[AuditLog]:
    """Return the admin's view and export entries after `since` (or within the last `window`)."""
    with app.app_context(), db.session() as session:
        query = select(AuditLog).where(AuditLog.username == "admin",
                                       AuditLog.action.like("%.view") | AuditLog.action.like(
                                           "%.export"))
        query = query.where(AuditLog.at > utcnow() - window) if window else query.where(
            AuditLog.id > since)
        return list(session.scalars(query))


def test_every_route_showing_personal_data_is_marked_and_audited(staff_app):
    ids = seed_family(staff_app)
    client = StaffClient(staff_app)
    assert client.login("admin").status_code == 302
    problems, showing = [], set()
    for endpoint, method, rule in staff_routes(staff_app):
        view = staff_app.view_functions[endpoint]
        if getattr(view, ACCESS_ATTR) == PUBLIC or endpoint == "staff.logout":
            continue
        values = fill(staff_app, rule, endpoint, {"center_code": "central",
                                                  "department_code": "childcare"})
        values.update({k: v for k, v in ids.items() if k in rule.arguments})
        path = url(staff_app, rule, values)
        before = last_audit_id(staff_app)
        response = call(client, method, path)
        shown = [m for m in MARKERS if m in shown_text(response)]
        marked = getattr(view, PERSONAL_ATTR, None)
        audited = view_entries(staff_app, before)
        if shown:
            showing.add(endpoint)
            if not marked:
                problems.append(f"{method} {path} shows {shown} without @audit_personal_view")
        if (shown or (marked and response.status_code == 200)) and not audited:
            problems.append(f"{method} {path} ({response.status_code}) left no audit entry")
    assert problems == []
    assert EXPECTED <= showing, f"the walk never saw {sorted(EXPECTED - showing)}"


def test_an_entry_names_the_subject_and_how_it_was_seen(staff_app):
    ids = seed_family(staff_app)
    client = StaffClient(staff_app)
    assert client.login("admin").status_code == 302
    before = last_audit_id(staff_app)
    assert client.get(f"/staff/applications/{ids['submission_id']}").status_code == 200
    assert client.get(f"/staff/applications/{ids['submission_id']}/photos/"
                      f"{ids['upload_id']}").status_code == 200
    assert client.get("/staff/applications/999999").status_code == 404
    entries = [(e.action, e.target, e.detail) for e in view_entries(staff_app, before)]
    subject = f"submission:{ids['submission_id']}"
    assert entries == [("application.view", subject, {"via": "page", "department": "childcare"}),
                       ("application_photo.view", subject, {"via": "png"})]
    for entry in view_entries(staff_app, before):
        assert not any(m in json.dumps(entry.detail, ensure_ascii=False) for m in MARKERS)
