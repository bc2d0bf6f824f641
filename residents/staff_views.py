"""Staff inbox of applications: list, open, change the status (the resident is told by push).

Every view goes through staff.access: department staff see their departments' submissions,
center staff the submissions a form routed to their centers (route_to_center), admins all of
them; anything else answers 404 like a submission that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (Blueprint, Response, abort, flash, jsonify, redirect,
                   render_template, request, url_for)
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from bot.flows.registry import forms
from cityhall.city import current_city
from cityhall.languages import language_names
from models import Center, Resident, utcnow
from models.application import Submission, SubmissionStatus, Upload
from models.household import Guardian
from residents import applications, surveys
from residents.applications import STATUS_LABELS, TRANSITIONS, Scope, StatusError, upload_ids
from staff import audit
from staff.access import (current_staff, require_role, samples, scoped_center_codes,
                          scoped_department_codes, scoped_departments)
from staff.args import page_arg
from staff.baseform import StaffForm
from staff.database import db_session
from staff.nav import nav_item
from staff.templating import current_language

bp = Blueprint("applications_staff", __name__, url_prefix="/staff/applications",
               template_folder="templates", static_folder="static", static_url_path="/static")
api = Blueprint("applications_api", __name__, url_prefix="/staff/api/applications")

NAV = [
    nav_item("applications_staff.inbox", _l("Applications"),
             roles={"admin", "department", "center"},
             description=_l("Applications residents sent in LINE: open them and change their "
                            "status; the resident is told."), order=40),
]
# Center staff see what a form routed to their centers (temporary childcare at their center).
ROLES = ("admin", "department", "center")
# Anonymous answers are never routed to a center: only their department reads them.
SURVEY_ROLES = ("admin", "department")
PAGE_SIZE = 50
COMMENT_MAX = 1000


def N_(message: str) -> str:
    """Mark a message for the catalogue; it is translated where it is shown."""
    return message


# The service's own wording, so its StatusError messages can be shown in the staff language.
SERVICE_MESSAGES = [N_("a returned application needs a reason for the resident"),
                    N_("write the message in Japanese too: residents whose language has no "
                       "message read the Japanese one")]


class StatusForm(StaffForm):
    status = SelectField(_l("New status"), validate_choice=False)
    comment = TextAreaField(_l("Message to the resident, in Japanese"),
                            validators=[Length(max=COMMENT_MAX)], render_kw={"rows": 4})
    # The state the staff member saw: a repeated or outdated POST is refused, never applied twice.
    version = HiddenField()

    def comment_rows(self, resident_language: str | None) -> list[dict[str, Any]]:
        """One row per language but Japanese, the resident's own first (and open)."""
        rows = []
        for code, name in language_names().items():
            if code == "ja":
                continue
            f = self[comment_field(code)]
            rows.append({"code": code, "name": name, "field": f,
                         "theirs": code == resident_language,
                         "written": bool((f.data or "").strip()),
                         "open": code == resident_language or bool((f.data or "").strip())
                         or bool(f.errors)})
        return sorted(rows, key=lambda row: not row["theirs"])

    def comments(self) -> dict[str, str]:
        """The message in each language but Japanese, as written (empty ones included)."""
        return {code: self[comment_field(code)].data or "" for code in language_names()
                if code != "ja"}


def comment_field(code: str) -> str:
    """The form field of the message in one language: "pt-BR" -> "comment_pt_BR"."""
    return "comment_" + code.replace("-", "_")


def with_comment_fields() -> type[StatusForm]:
    """StatusForm with a message field per spoken language (RESIDENT_LANGUAGES decides)."""
    fields = {comment_field(code): TextAreaField(
        _l("Message in %(language)s (optional)", language=name),
        validators=[Length(max=COMMENT_MAX)], render_kw={"rows": 3})
        for code, name in language_names().items() if code != "ja"}
    return type("StatusForm", (StatusForm,), fields)


# Scope and lookups


def department_codes() -> list[str]:
    """Return the codes of the departments in scope (anonymous answers go to departments only)."""
    return [d.code for d in scoped_departments(db_session())]


def inbox_scope() -> Scope:
    """Return what the signed-in staff member sees: their departments and their centers."""
    session = db_session()
    return Scope(departments=scoped_department_codes(session),
                 centers=scoped_center_codes(session))


def scoped_submission(submission_id: int, lock: bool = False) -> Submission:
    """Return a submission of the user's departments, or answer 404."""
    session = db_session()
    if lock:
        # Two staff (or one double click) changing the same submission take turns here.
        session.execute(select(Submission.id).where(Submission.id == submission_id)
                        .with_for_update())
    submission = applications.get_submission(session, submission_id, inbox_scope())
    if submission is None:
        abort(404)
    return submission


def version_of(submission: Submission) -> str:
    """Name the submission's current state: its status and its latest change."""
    last = submission.changes[-1].id if submission.changes else 0
    return f"{submission.status.value}.{last}"


def _sample_submission(session) -> Submission:
    """Return the access test's submission: "roads" department, routed to "central", a photo."""
    receipt = "Z-2000-000001"
    found = session.scalars(select(Submission).where(Submission.receipt_no == receipt)).first()
    if found is not None:
        return found
    upload = Upload(content_type="image/png", data=b"\x89PNG sample", sha256="0" * 64)
    session.add(upload)
    session.flush()
    submission = Submission(receipt_no=receipt, form_id="sample", department_code="roads",
                            center_code="central",
                            answers={"photo": {"upload_id": upload.id, "content_type": "image/png",
                                               "bytes": 11}},
                            status=SubmissionStatus.RECEIVED)
    session.add(submission)
    session.flush()
    return submission


def _sample_submission_id(session) -> int:
    return _sample_submission(session).id


def _sample_upload_id(session) -> int:
    return _sample_submission(session).answers["photo"]["upload_id"]


# Describing submissions


def local_time(moment: datetime) -> str:
    """Format a UTC moment in the city's time zone."""
    return current_city().local(moment).strftime("%Y-%m-%d %H:%M")


def status_label(status: SubmissionStatus | str) -> str:
    """Name a status in the staff language."""
    return gettext(STATUS_LABELS[SubmissionStatus(status)])


def form_title(form_id: str) -> str:
    """Return a form's title in the staff language (its id if the form is gone)."""
    form = forms().get(form_id)
    if form is None:
        return form_id
    return form.title.get(current_language()) or form.title["ja"]


def is_anonymous(submission: Submission) -> bool:
    """Say whether the submission came from an anonymous form."""
    form = forms().get(submission.form_id)
    return bool(form and form.anonymous)


def inbox_forms(scope: Scope, anonymous: bool = False) -> list[tuple[str, str]]:
    """Return (id, title) of the application (or anonymous) forms that may be in scope."""
    return [(f.id, form_title(f.id)) for f in forms().all()
            if f.on_submit == "application" and f.anonymous == anonymous
            and scope.sees_form(f)]


def summary(submission: Submission) -> dict[str, Any]:
    """Describe a submission for a list: no personal data."""
    return {"id": submission.id, "receipt_no": submission.receipt_no,
            "form_id": submission.form_id, "form_title": form_title(submission.form_id),
            "department": submission.department_code, "center": submission.center_code,
            "submitted_at": local_time(submission.submitted_at),
            "status": submission.status.value, "status_label": status_label(submission.status),
            "anonymous": is_anonymous(submission),
            # The language the resident applied in: status messages reach them in theirs.
            "language": language_names().get(submission.language, submission.language),
            "language_code": submission.language}


def applicant(submission: Submission) -> dict[str, str] | None:
    """Return who sent it (name, kana, phone), or None when no resident is linked."""
    if submission.resident_id is None:
        return None
    session = db_session()
    guardian = session.scalars(select(Guardian).where(
        Guardian.resident_id == submission.resident_id)).first()
    if guardian is not None:
        return {"name": guardian.name, "kana": guardian.kana, "phone": guardian.phone}
    resident = session.get(Resident, submission.resident_id)
    return {"name": (resident.display_name if resident else None) or "—", "kana": "",
            "phone": ""}


def answers(submission: Submission) -> list[dict[str, Any]]:
    """Return the labelled answers in the staff language; a photo carries its image URL."""
    rows = applications.answer_rows(db_session(), submission, current_language())
    return [{"label": r.label, "value": r.value,
             "photo_url": url_for("applications_staff.photo", submission_id=submission.id,
                                  upload_id=r.upload_id) if r.upload_id else None}
            for r in rows]


def history(submission: Submission) -> list[dict[str, Any]]:
    """Return the status changes, oldest first, with the comment (per language) and who."""
    names = language_names()
    return [{"status": c.status.value, "status_label": status_label(c.status),
             "comment": c.comment, "changed_by": c.changed_by,
             "comments": [{"code": code, "name": names.get(code, code), "text": text}
                          for code, text in (c.comments or {}).items()],
             "changed_at": local_time(c.changed_at)} for c in submission.changes]


def reader_language(submission: Submission) -> dict[str, str] | None:
    """The language the resident reads now (status messages go in it), or None if nobody."""
    resident = applications.recipient(db_session(), submission)
    if resident is None:
        return None
    return {"code": resident.language,
            "name": language_names().get(resident.language, resident.language)}


def center_name(code: str | None) -> str | None:
    """Name the center a submission was routed to, in the staff language."""
    if code is None:
        return None
    center = db_session().scalars(select(Center).where(Center.code == code)).first()
    return center.name(current_language()) if center else None


def next_statuses(submission: Submission) -> list[tuple[str, str]]:
    """Return (value, label) of the statuses this submission may move to, in workflow order."""
    allowed = TRANSITIONS[submission.status]
    return [(s.value, status_label(s)) for s in SubmissionStatus if s in allowed]


def detail(submission: Submission) -> dict[str, Any]:
    """Describe one submission in full: who, every answer, the history, the next statuses."""
    return {**summary(submission), "applicant": applicant(submission),
            "care_notes": [{"child": n.child, "notes": n.notes}
                           for n in applications.care_notes(db_session(), submission)],
            "notifies": applications.recipient(db_session(), submission) is not None,
            "reader": reader_language(submission),
            "center_name": center_name(submission.center_code),
            "answers": answers(submission), "history": history(submission),
            "comment": submission.status_comment, "version": version_of(submission),
            "next_statuses": [value for value, _label in next_statuses(submission)]}


def personal_subject(submission_id: int) -> str | None:
    """Name the submission for the audit log, or None when no resident is linked (anonymous)."""
    linked = db_session().scalar(select(Submission.resident_id)
                                 .where(Submission.id == submission_id))
    return f"submission:{submission_id}" if linked is not None else None


def photo_subject(submission_id: int, upload_id: int) -> str:
    """Name a photo for the audit log: a photo may show a person even in an anonymous form."""
    return f"submission:{submission_id}"


def filters() -> tuple[SubmissionStatus | None, str | None, int]:
    """Read status, form and page from the query string; unknown values mean "all"."""
    status = request.args.get("status") or None
    status = SubmissionStatus(status) if status in set(SubmissionStatus) else None
    form_id = request.args.get("form") or None
    form_id = form_id if form_id and forms().get(form_id) else None
    return status, form_id, page_arg()


def inbox_page() -> dict[str, Any]:
    """Return one page of the inbox and the counts per status, in the user's scope."""
    status, form_id, page = filters()
    scope = inbox_scope()
    found = applications.list_submissions(db_session(), scope, status=status, form_id=form_id,
                                          limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    counts = applications.count_by_status(db_session(), scope)
    return {"status": status.value if status else None, "form": form_id, "page": page,
            "has_next": len(found) > PAGE_SIZE, "rows": [summary(s) for s in found[:PAGE_SIZE]],
            "counts": {s.value: counts.get(s.value, 0) for s in SubmissionStatus},
            "total": sum(counts.values()), "forms": inbox_forms(scope),
            "survey_answers": sum(surveys.count_by_form(db_session(), department_codes()).values()),
            "surveys_link": current_staff().role.value in SURVEY_ROLES}


def survey_page() -> dict[str, Any]:
    """Return one page of anonymous answers in the user's scope: day and answers, nobody."""
    _status, form_id, page = filters()
    codes = department_codes()
    found = surveys.list_answers(db_session(), codes, form_id=form_id, limit=PAGE_SIZE + 1,
                                 offset=(page - 1) * PAGE_SIZE)
    language = current_language()
    rows = [{"form_id": a.form_id, "form_title": form_title(a.form_id),
             "answered_on": a.answered_on.isoformat(),
             "answers": [{"label": r.label, "value": r.value}
                         for r in applications.answer_rows(db_session(), a, language)]}
            for a in found[:PAGE_SIZE]]
    return {"form": form_id, "page": page, "has_next": len(found) > PAGE_SIZE, "rows": rows,
            "counts": surveys.count_by_form(db_session(), codes),
            "forms": inbox_forms(Scope(departments=frozenset(codes)), anonymous=True)}


# Pages


@bp.get("/")
@require_role(*ROLES)
def inbox():
    """List the departments' submissions, newest first, by status and form."""
    data = inbox_page()
    return render_template("residents/inbox.html", **data,
                           statuses=[(s.value, status_label(s)) for s in SubmissionStatus])


@bp.get("/surveys")
@require_role(*SURVEY_ROLES)
def survey_answers():
    """List the departments' anonymous survey answers (no receipt, no person, only the day)."""
    return render_template("residents/surveys.html", **survey_page())


@bp.get("/<int:submission_id>")
@require_role(*ROLES)
@samples(submission_id=_sample_submission_id)
@audit.audit_personal_view("application", subject=personal_subject)
def submission(submission_id: int):
    """Show a submission: who sent it, every answer, its history, the status form."""
    found = scoped_submission(submission_id)
    return render_submission(found, status_form(found))


def status_form(submission: Submission) -> StatusForm:
    """Build the status form offering only the statuses the submission may move to."""
    form = with_comment_fields()()
    form.status.choices = next_statuses(submission)
    if not form.is_submitted():
        form.version.data = version_of(submission)
    return form


def render_submission(submission: Submission, form: StatusForm, error: str | None = None,
                      code: int = 200):
    """Render the submission page (its views audit it when it shows personal data)."""
    data = detail(submission)
    audit.personal_view_detail(**scope_detail(submission))
    return render_template("residents/submission.html", submission=data, form=form,
                           error=error), code


@bp.post("/<int:submission_id>/status")
@require_role(*ROLES)
@samples(submission_id=_sample_submission_id)
# A refused change renders the submission again: that answer is a view of it.
@audit.audit_personal_view("application", subject=personal_subject)
def change_status(submission_id: int):
    """Change a submission's status with a comment; the resident gets one push (audited)."""
    session = db_session()
    found = scoped_submission(submission_id, lock=True)
    form = status_form(found)
    if not form.validate_on_submit():
        return render_submission(found, form, code=400)
    if form.version.data != version_of(found):
        session.rollback()
        return render_submission(found, form, code=409, error=gettext(
            "This application was changed in the meantime; it is now \"%(status)s\". Nothing "
            "was changed: check the history and send again if needed.",
            status=status_label(found.status)))
    error = apply_change(found, form)
    if error is not None:
        session.rollback()
        return render_submission(found, form, error=error, code=400)
    session.commit()
    flash(changed_message(found), "info")
    return redirect(url_for("applications_staff.submission", submission_id=found.id))


def changed_message(submission: Submission) -> str:
    """Say what the change did, and whether anyone is told: an erased resident is not."""
    status = status_label(submission.status)
    resident = applications.recipient(db_session(), submission)
    if resident is not None:
        told = gettext("The status is now \"%(status)s\". The resident will be told in LINE.",
                       status=status)
        change = submission.changes[-1] if submission.changes else None
        if change is not None and applications.comment_falls_back(change, resident.language):
            told += " " + gettext(
                "⚠ No message in %(language)s was written: the resident gets the Japanese "
                "message.", language=language_names().get(resident.language, resident.language))
        return told
    return gettext("The status is now \"%(status)s\". Nobody is notified: the resident "
                   "deleted their registration.", status=status)


def scope_detail(submission: Submission) -> dict[str, str]:
    """Return the department and routed center of a submission, for audit details."""
    detail = {"department": submission.department_code}
    if submission.center_code:
        detail["center"] = submission.center_code
    return detail


def apply_change(submission: Submission, form: StatusForm) -> str | None:
    """Change the status and audit it; return the reason when the service refuses."""
    before = submission.status.value
    try:
        status = SubmissionStatus(form.status.data)
        change = applications.change_status(db_session(), submission, status, form.comment.data,
                                            utcnow(), changed_by=current_staff().username,
                                            comments=form.comments())
    except ValueError as exc:  # StatusError, or a status that does not exist
        return refusal(exc)
    audit.record(db_session(), "application.status_change", target=f"submission:{submission.id}",
                 detail={"from": before, "to": change.status.value,
                         "department": submission.department_code, "center": submission.center_code,
                         "comment": change.comment is not None,
                         "comment_languages": sorted(change.comments or {})})
    return None


def refusal(exc: ValueError) -> str:
    """Say why a status change was refused, in the staff language when the catalogue knows it."""
    reason = gettext(str(exc)) if isinstance(exc, StatusError) else gettext(
        "Please choose one of the statuses offered.")
    return gettext("The status was not changed: %(reason)s", reason=reason)


@bp.get("/<int:submission_id>/photos/<int:upload_id>")
@require_role(*ROLES)
@samples(submission_id=_sample_submission_id, upload_id=_sample_upload_id)
@audit.audit_personal_view("application_photo", subject=photo_subject)
def photo(submission_id: int, upload_id: int):
    """Send a photo of a submission, only when the photo belongs to it."""
    found = scoped_submission(submission_id)
    if upload_id not in upload_ids(found.answers):
        abort(404)
    upload = db_session().get(Upload, upload_id)
    if upload is None:
        abort(404)
    # Only images are shown inline; anything else is bytes the browser must not interpret.
    image = upload.content_type.startswith("image/")
    mimetype = upload.content_type if image else "application/octet-stream"
    return Response(upload.data, mimetype=mimetype, headers={
        "Cache-Control": "no-store", "Content-Disposition": "inline"})


# JSON


@api.get("")
@require_role(*ROLES)
def inbox_json():
    """Return one page of the inbox and the counts per status."""
    data = inbox_page()
    data["forms"] = [{"id": i, "title": t} for i, t in data["forms"]]
    return jsonify(data)


@api.get("/surveys")
@require_role(*SURVEY_ROLES)
def survey_answers_json():
    """Return one page of anonymous survey answers."""
    data = survey_page()
    data["forms"] = [{"id": i, "title": t} for i, t in data["forms"]]
    return jsonify(data)


@api.get("/<int:submission_id>")
@require_role(*ROLES)
@samples(submission_id=_sample_submission_id)
@audit.audit_personal_view("application", subject=personal_subject)
def submission_json(submission_id: int):
    """Return one submission in full (audited when it holds personal data)."""
    found = scoped_submission(submission_id)
    audit.personal_view_detail(**scope_detail(found))
    return jsonify(detail(found))

