"""Staff pages of notices: compose, preview, reach, approval, send or schedule, figures and CSV;
closure alerts; age reminders; and the signed image URL LINE fetches.

Every step that changes a notice is written to the audit log. No page shows a resident's name:
the reach is counts by district and child age.
"""

from __future__ import annotations

import csv
import hmac
import io
from datetime import timedelta

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect,
                   render_template, request, url_for)
from flask_babel import gettext, lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from sqlalchemy import func, select
from wtforms import (BooleanField, DateField, DateTimeLocalField, IntegerField, SelectChoice,
                     SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional

from cityhall.city import current_city
from cityhall.languages import language_names
from models import Center, District, utcnow
from models.closure import CenterClosure
from models.notice import AgeReminder, Notice, NoticeImage
from models.staff import StaffRole, StaffUser
from notices import images as notice_images
from notices import messages, reminders, services
from notices.settings import NoticeSettings
from staff import audit
from staff.access import current_staff, require_role, samples, scoped_centers
from staff.baseform import StaffForm
from staff.database import db_session
from staff.nav import nav_item

bp = Blueprint("notices_staff", __name__, url_prefix="/staff/notices",
               template_folder="templates", static_folder="static", static_url_path="/static")
api = Blueprint("notices_api", __name__, url_prefix="/staff/api/notices")
images = Blueprint("notices_images", __name__, url_prefix="/notices")

ROLES = ("admin", "center", "department")
NAV = [nav_item("notices_staff.index", _l("Notices"), roles=set(ROLES),
                description=_l("Compose a notice, see how many it reaches, send or schedule; "
                               "closure alerts; age reminders."), order=40)]
TOPIC_NAMES = {"events": _l("Events"), "closures": _l("Closures"), "reminders": _l("Reminders"),
               "news": _l("City news")}
STATUS_NAMES = {"draft": _l("Draft"), "pending-approval": _l("Waiting for approval"),
                "approved": _l("Approved, not sent yet"), "scheduled": _l("Scheduled"),
                "queued": _l("Sending / sent"), "cancelled": _l("Cancelled"),
                "rejected": _l("Rejected")}


def settings() -> NoticeSettings:
    return NoticeSettings.from_config(current_app.config)


def _sample_notice(session) -> int:
    """Store a draft notice every staff account of the access test may open."""
    notice = services.new_notice(session, title="見本", bodies={"ja": "見本の本文"},
                                 segment={"visited_centers": ["central"]}, topic="news",
                                 now=utcnow())
    return notice.id


def _sample_closure(session) -> int:
    center = session.scalars(select(Center).where(Center.code == "central")).one()
    last = session.scalar(select(func.max(CenterClosure.day))
                          .where(CenterClosure.center_id == center.id))
    day = last + timedelta(days=1) if last else current_city().today(utcnow())
    closure = CenterClosure(center_id=center.id, day=day, reason="見本", closed_at=utcnow())
    session.add(closure)
    session.flush()
    return closure.id


def _sample_reminder(session) -> int:
    return reminders.add_reminder(session, age_months=3, title="見本",
                                  bodies={"ja": "見本の本文"}).id


# Forms


def slug(code: str) -> str:
    """A language code as a form field's name part: "pt-BR" -> "pt_BR"."""
    return code.replace("-", "_")


def other_languages() -> list[tuple[str, str]]:
    """The spoken languages besides Japanese, (code, own name), in the configured order."""
    return [(code, name) for code, name in language_names().items() if code != "ja"]


class LanguageTexts:
    """Per-language title and text fields: Japanese required, each other language optional.

    `with_language_fields(FormClass)` adds `title_<code>` and `body_<code>` for every spoken
    language but Japanese (whose fields are `title` and `body_ja`), so RESIDENT_LANGUAGES, not
    code, decides which fields the page offers.
    """

    def language_rows(self) -> list[dict]:
        """One row per other language: its fields and whether anything was written."""
        rows = []
        for code, name in other_languages():
            title, body = self[f"title_{slug(code)}"], self[f"body_{slug(code)}"]
            rows.append({"code": code, "name": name, "title": title, "body": body,
                         "written": bool((body.data or "").strip()),
                         "open": bool((body.data or "").strip() or (title.data or "").strip()
                                      or title.errors or body.errors)})
        return rows

    def bodies(self) -> dict[str, str]:
        found = {"ja": self["body_ja"].data or ""}
        found.update({code: self[f"body_{slug(code)}"].data or ""
                      for code, _name in other_languages()})
        return found

    def titles(self) -> dict[str, str]:
        return {code: self[f"title_{slug(code)}"].data or "" for code, _name in other_languages()}


def with_language_fields(form_class: type) -> type:
    """Subclass a form with the per-language title and text fields of the spoken languages."""
    fields: dict = {}
    for code, name in other_languages():
        fields[f"title_{slug(code)}"] = StringField(
            _l("Title in %(language)s (optional)", language=name),
            validators=[Optional(), Length(max=services.TITLE_LIMIT)])
        fields[f"body_{slug(code)}"] = TextAreaField(
            _l("Text in %(language)s (optional)", language=name),
            validators=[Optional(), Length(max=messages.TEXT_LIMIT)])
    return type(form_class.__name__, (form_class,), fields)


class NoticeForm(LanguageTexts, StaffForm):
    title = StringField(_l("Title in Japanese"),
                        validators=[DataRequired(), Length(max=services.TITLE_LIMIT)])
    body_ja = TextAreaField(_l("Text in Japanese"),
                            validators=[DataRequired(), Length(max=messages.TEXT_LIMIT)])
    topic = SelectField(_l("Topic"), choices=[])
    audience = SelectField(_l("Audience"), choices=[])
    age_min = IntegerField(_l("Children from (months)"),
                           validators=[Optional(), NumberRange(0, 240)])
    age_max = IntegerField(_l("Children up to (months)"),
                           validators=[Optional(), NumberRange(0, 240)])
    districts = SelectMultipleField(_l("Districts"), choices=[], validate_choice=True)
    centers = SelectMultipleField(_l("Visited centers"), choices=[], validate_choice=True)
    visited_days = IntegerField(_l("Visited within (days)"), default=30,
                                validators=[Optional(), NumberRange(1, 3650)])
    languages = SelectMultipleField(_l("Languages"), choices=[])
    link_url = StringField(_l("Link (optional)"),
                           validators=[Optional(), Length(max=1000),
                                       URL(require_tld=False, message=_l("Enter a web address."))])
    link_label = StringField(_l("Button label"),
                             validators=[Optional(), Length(max=services.LINK_LABEL_LIMIT)])
    image = FileField(_l("Image (optional, JPEG or PNG)"),
                      validators=[FileAllowed(["jpg", "jpeg", "png"], _l("JPEG or PNG only."))])
    urgent = BooleanField(_l("Urgent: send even in the quiet hours"))
    send_at = DateTimeLocalField(_l("Send at (empty: now)"), format="%Y-%m-%dT%H:%M",
                                 validators=[Optional()])
    submit = SubmitField(_l("Save and preview"))

    def fill_choices(self, session, user: StaffUser) -> None:
        self.topic.choices = [SelectChoice(k, str(v)) for k, v in TOPIC_NAMES.items()]
        self.audience.choices = [SelectChoice("registered", gettext("Registered residents")),
                                 SelectChoice("followers", gettext("Every follower"))]
        self.districts.choices = [SelectChoice(d.code, d.name_ja) for d in
                                  session.scalars(select(District).order_by(District.code))]
        centers = (scoped_centers(session, user) if user.role == StaffRole.CENTER
                   else list(session.scalars(select(Center).order_by(Center.code))))
        self.centers.choices = [SelectChoice(c.code, c.name_ja) for c in centers]
        self.languages.choices = [SelectChoice(c, n) for c, n in language_names().items()]

    def segment(self) -> dict:
        """Build the segment JSON from the form."""
        segment: dict = {}
        if self.audience.data == "followers":
            segment["followers"] = True
        if self.age_min.data is not None or self.age_max.data is not None:
            segment["child_age_months"] = [self.age_min.data or 0,
                                           240 if self.age_max.data is None else self.age_max.data]
        if self.districts.data:
            segment["districts"] = list(self.districts.data)
        if self.centers.data:
            segment["visited_centers"] = list(self.centers.data)
            segment["visited_within_days"] = self.visited_days.data or 30
        if self.languages.data:
            segment["languages"] = list(self.languages.data)
        return segment or {"all": True}


class ActionForm(StaffForm):
    submit = SubmitField()


class ClosureForm(StaffForm):
    center = SelectField(_l("Center"), choices=[])
    day = DateField(_l("Day"), validators=[DataRequired()])
    reason = StringField(_l("Reason (residents read it)"),
                         validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Close and alert the families"))


class ReminderForm(LanguageTexts, StaffForm):
    age_months = IntegerField(_l("When the child is (months)"),
                              validators=[DataRequired(), NumberRange(0, 240)])
    title = StringField(_l("Title in Japanese"),
                        validators=[DataRequired(), Length(max=services.TITLE_LIMIT)])
    body_ja = TextAreaField(_l("Text in Japanese"),
                            validators=[DataRequired(), Length(max=messages.TEXT_LIMIT)])
    link_url = StringField(_l("Link (optional)"),
                           validators=[Optional(), Length(max=1000),
                                       URL(require_tld=False, message=_l("Enter a web address."))])
    submit = SubmitField(_l("Save reminder"))


# Access to one notice


def may_see(notice: Notice, user: StaffUser) -> bool:
    """Admins see every notice; others their own and those within their scope."""
    if user.role == StaffRole.ADMIN or notice.created_by_id == user.id:
        return True
    if notice.center_id is not None:
        return user.role == StaffRole.CENTER and notice.center_id in {c.id for c in user.centers}
    return services.scope_problem(user, notice, settings()) is None


def notice_or_404(notice_id: int) -> Notice:
    notice = db_session().get(Notice, notice_id)
    if notice is None or not may_see(notice, current_staff()):
        abort(404)
    return notice


# Pages


@bp.get("/")
@require_role(*ROLES)
def index():
    """List the latest notices the user may see."""
    session, user = db_session(), current_staff()
    rows = session.scalars(select(Notice).order_by(Notice.id.desc()).limit(300))
    notices = [n for n in rows if may_see(n, user)][:100]
    return render_template("notices/index.html", notices=notices, status_names=STATUS_NAMES,
                           topic_names=TOPIC_NAMES, city=current_city())


@bp.route("/new", methods=["GET", "POST"])
@require_role(*ROLES)
def compose():
    """Compose a notice: text per language, who it goes to, when; then the preview page."""
    session, user, city = db_session(), current_staff(), current_city()
    form = with_language_fields(NoticeForm)()
    form.fill_choices(session, user)
    if form.validate_on_submit():
        now = utcnow()
        send_at = (form.send_at.data.replace(tzinfo=city.zone) if form.send_at.data else None)
        try:
            if send_at is not None and send_at < now:
                raise services.NoticeError(gettext("That time has passed."))
            notice = services.new_notice(
                session, title=form.title.data, segment=form.segment(), topic=form.topic.data,
                bodies=form.bodies(), titles=form.titles(), now=now, urgent=form.urgent.data,
                send_at=send_at, link_url=form.link_url.data or None,
                link_label=form.link_label.data or None, created_by=user)
            problem = services.scope_problem(user, notice, settings())
            if problem:
                raise services.NoticeError(problem)
            if form.image.data:
                notice_images.attach(session, notice, form.image.data.read(), image_base())
        except (services.NoticeError, notice_images.ImageError) as err:
            session.rollback()
            form.form_errors.append(str(err))
        else:
            audit.record(session, "notice.compose", f"notice:{notice.id}",
                         {"segment": notice.segment, "topic": notice.topic})
            session.commit()
            return redirect(url_for(".detail", notice_id=notice.id))
    return render_template("notices/compose.html", form=form)


def image_base() -> str:
    """Return the app's URL as LINE reaches it (NOTICE_PUBLIC_URL, else this request's)."""
    return settings().public_url or request.host_url.rstrip("/")


@bp.get("/<int:notice_id>")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def detail(notice_id: int):
    """Show the preview per language, the reach now, the figures, and the next steps."""
    session, user, city, now = db_session(), current_staff(), current_city(), utcnow()
    notice = notice_or_404(notice_id)
    spoken = language_names()
    previews = [(code, name, messages.preview_parts(services.message_for(session, notice, code)))
                for code, name in spoken.items() if code in notice.bodies]
    # The spoken languages without a text: their readers get the Japanese one (marked).
    missing = [(code, spoken[code]) for code in services.missing_languages(notice.bodies, spoken)]
    reach = services.reach(session, notice, now, city) if notice.status != "queued" else None
    by_language = services.language_reach(notice.bodies, reach.languages) if reach else []
    fallback = sum(row.residents for row in by_language if row.falls_back)
    over = reach is not None and reach.residents > settings().approval_threshold
    district_names = {d.code: d.name_ja for d in session.scalars(select(District))}
    people = {u.id: u.display_name or u.username for u in session.scalars(
        select(StaffUser).where(StaffUser.id.in_([i for i in (
            notice.created_by_id, notice.approval_requested_by_id, notice.approved_by_id) if i])))}
    return render_template(
        "notices/detail.html", notice=notice, previews=previews, reach=reach, over=over,
        missing=missing, by_language=by_language, fallback=fallback, language_names=spoken,
        figures=services.figures(session, notice), district_names=district_names,
        people=people, user=user, action=ActionForm(), city=city, status_names=STATUS_NAMES,
        topic_names=TOPIC_NAMES, threshold=settings().approval_threshold,
        may_approve=(notice.status == "pending-approval"
                     and user.id not in (notice.created_by_id, notice.approval_requested_by_id)
                     and services.scope_problem(user, notice, settings()) is None))


def _step(notice_id: int, action: str, do) -> Response:
    """Run one step on a notice from a button; audit it; say what happened."""
    session, user = db_session(), current_staff()
    notice = notice_or_404(notice_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(gettext("This form has expired. Please reload the page and try again."), "error")
        return redirect(url_for(".detail", notice_id=notice.id))
    try:
        message = do(session, notice, user)
    except services.NoticeError as err:
        session.rollback()
        flash(str(err), "error")
    else:
        audit.record(session, f"notice.{action}", f"notice:{notice.id}", {"status": notice.status})
        session.commit()
        flash(message)
    return redirect(url_for(".detail", notice_id=notice_id))


@bp.post("/<int:notice_id>/send")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def send(notice_id: int):
    """Send now, or schedule for the chosen time (after the quiet hours unless urgent)."""
    def do(session, notice, user):
        problem = services.scope_problem(user, notice, settings())
        if problem:
            raise services.NoticeError(problem)
        outcome = services.release(session, notice, utcnow(), current_city(), settings())
        if outcome == "scheduled":
            return gettext("Scheduled for %(time)s.", time=current_city().local(
                notice.send_at).strftime("%Y-%m-%d %H:%M"))
        return gettext("Queued for %(count)s residents.", count=notice.targeted_residents)
    return _step(notice_id, "send", do)


@bp.post("/<int:notice_id>/request-approval")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def request_approval(notice_id: int):
    """Ask a second staff member to approve."""
    def do(session, notice, user):
        services.request_approval(session, notice, user)
        return gettext("Approval requested.")
    return _step(notice_id, "request-approval", do)


@bp.post("/<int:notice_id>/approve")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def approve(notice_id: int):
    """Approve as a second staff member with the right to send for this scope."""
    def do(session, notice, user):
        services.approve(session, notice, user, settings())
        return gettext("Approved. It can be sent now.")
    return _step(notice_id, "approve", do)


@bp.post("/<int:notice_id>/reject")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def reject(notice_id: int):
    """Send the notice back to its author."""
    def do(session, notice, user):
        services.reject(session, notice, user)
        return gettext("Rejected.")
    return _step(notice_id, "reject", do)


@bp.post("/<int:notice_id>/cancel")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def cancel(notice_id: int):
    """Cancel: it never goes, or its unsent batches stop."""
    def do(session, notice, user):
        stopped = services.cancel(session, notice, utcnow())
        return gettext("Cancelled (%(count)s batches stopped).", count=stopped)
    return _step(notice_id, "cancel", do)


@bp.get("/<int:notice_id>/figures.csv")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def figures_csv(notice_id: int):
    """Download one line per batch: language, recipients, outcome, LINE's reason."""
    notice = notice_or_404(notice_id)
    figures = services.figures(db_session(), notice)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["batch", "language", "recipients", "status", "skipped_blocked",
                     "attempts", "sent_at", "error"])
    city = current_city()
    for n, b in enumerate(figures.batches, start=1):
        writer.writerow([n, b.language, b.recipients, b.status, b.skipped, b.attempts,
                         city.local(b.sent_at).isoformat() if b.sent_at else "",
                         _cell(b.error or "")])
    writer.writerow([])
    for key, value in figures.as_dict().items():
        if key != "reasons":
            writer.writerow([key, value])
    return Response(out.getvalue().encode("utf-8-sig"), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=notice-{notice.id}.csv"})


def _cell(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@api.get("/<int:notice_id>/figures")
@require_role(*ROLES)
@samples(notice_id=_sample_notice)
def figures_json(notice_id: int):
    """Return the live figures the notice page refreshes from."""
    notice = notice_or_404(notice_id)
    return jsonify(id=notice.id, status=notice.status,
                   **services.figures(db_session(), notice).as_dict())


# Closures


@bp.route("/closures", methods=["GET", "POST"])
@require_role("admin", "center")
def closures():
    """Close a center on a day (reason) and alert the families at once; list closures."""
    session, user, city = db_session(), current_staff(), current_city()
    centers = scoped_centers(session, user)
    form = ClosureForm()
    form.center.choices = [SelectChoice(c.code, c.name_ja) for c in centers]
    if form.validate_on_submit():
        center = next(c for c in centers if c.code == form.center.data)
        try:
            notice = services.close_center(session, center, form.day.data, form.reason.data,
                                           utcnow(), city, staff=user)
        except services.NoticeError as err:
            session.rollback()
            form.reason.errors = [*form.reason.errors, str(err)]
        else:
            audit.record(session, "notice.close-center", f"center:{center.code}",
                         {"day": form.day.data.isoformat(), "notice": notice.id})
            session.commit()
            flash(gettext("%(center)s is closed on %(day)s; %(count)s residents are being told.",
                          center=center.name_ja, day=form.day.data.isoformat(),
                          count=notice.targeted_residents))
            return redirect(url_for(".closures"))
    ids = [c.id for c in centers]
    rows = session.scalars(select(CenterClosure).where(
        CenterClosure.center_id.in_(ids), CenterClosure.day >= city.today(utcnow()))
        .order_by(CenterClosure.day)).all()
    names = {c.id: c.name_ja for c in centers}
    return render_template("notices/closures.html", form=form, closures=rows, names=names,
                           action=ActionForm())


@bp.post("/closures/<int:closure_id>/reopen")
@require_role("admin", "center")
@samples(closure_id=_sample_closure)
def reopen(closure_id: int):
    """Open the day again and send the short follow-up to the same families."""
    session, user = db_session(), current_staff()
    closure = session.get(CenterClosure, closure_id)
    centers = {c.id: c for c in scoped_centers(session, user)}
    if closure is None or closure.center_id not in centers:
        abort(404)
    if not ActionForm().validate_on_submit():
        flash(gettext("This form has expired. Please reload the page and try again."), "error")
        return redirect(url_for(".closures"))
    try:
        notice = services.reopen_center(session, centers[closure.center_id], closure.day,
                                        utcnow(), current_city(), staff=user)
    except services.NoticeError as err:
        session.rollback()
        flash(str(err), "error")
    else:
        audit.record(session, "notice.reopen-center", f"center:{centers[closure.center_id].code}",
                     {"day": closure.day.isoformat(), "notice": notice.id})
        session.commit()
        flash(gettext("Opened again; %(count)s residents are being told.",
                      count=notice.targeted_residents))
    return redirect(url_for(".closures"))


# Age reminders


@bp.get("/reminders")
@require_role("admin", "department")
def reminder_list():
    """List the age reminders."""
    rows = db_session().scalars(select(AgeReminder).order_by(AgeReminder.age_months,
                                                             AgeReminder.id)).all()
    return render_template("notices/reminders.html", reminders=rows, action=ActionForm(),
                           may_edit=_may_edit_reminders(current_staff()))


def _may_edit_reminders(user: StaffUser) -> bool:
    if user.role == StaffRole.ADMIN:
        return True
    topics = settings().department_topics or {}
    return any("reminders" in topics.get(d.code, ()) for d in user.departments)


@bp.route("/reminders/new", methods=["GET", "POST"])
@require_role("admin", "department")
def reminder_new():
    """Define a reminder sent when a child reaches an age."""
    session, user = db_session(), current_staff()
    form = with_language_fields(ReminderForm)()
    if form.validate_on_submit():
        try:
            if not _may_edit_reminders(user):
                raise services.NoticeError(gettext("Your department does not send reminders."))
            reminder = reminders.add_reminder(
                session, age_months=form.age_months.data, title=form.title.data,
                titles=form.titles(), bodies=form.bodies(), link_url=form.link_url.data or None)
        except services.NoticeError as err:
            session.rollback()
            form.form_errors.append(str(err))
        else:
            audit.record(session, "notice.reminder-add", f"reminder:{reminder.id}",
                         {"age_months": reminder.age_months})
            session.commit()
            return redirect(url_for(".reminder_list"))
    return render_template("notices/reminder_form.html", form=form)


@bp.post("/reminders/<int:reminder_id>/toggle")
@require_role("admin", "department")
@samples(reminder_id=_sample_reminder)
def reminder_toggle(reminder_id: int):
    """Pause or resume a reminder."""
    session, user = db_session(), current_staff()
    reminder = session.get(AgeReminder, reminder_id)
    if reminder is None:
        abort(404)
    if not ActionForm().validate_on_submit() or not _may_edit_reminders(user):
        flash(gettext("You cannot change this reminder."), "error")
        return redirect(url_for(".reminder_list"))
    reminder.active = not reminder.active
    audit.record(session, "notice.reminder-toggle", f"reminder:{reminder.id}",
                 {"active": reminder.active})
    session.commit()
    return redirect(url_for(".reminder_list"))


# The image LINE fetches


@images.get("/images/<int:notice_id>/<signature>.jpg")
def image(notice_id: int, signature: str):
    """Serve a notice's image to whoever holds the signed URL (LINE's servers)."""
    if not hmac.compare_digest(signature, notice_images.signature(notice_id)):
        abort(404)
    found = db_session().get(NoticeImage, notice_id)
    if found is None:
        abort(404)
    return Response(found.data, mimetype=found.content_type,
                    headers={"Cache-Control": "public, max-age=86400"})

