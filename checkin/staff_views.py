"""Staff pages of check-in: who is inside now, check-out and check-in by hand, QR poster, kiosk.

Every view goes through staff.access; anything outside the user's centers answers 404.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect,
                   render_template, url_for)
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from checkin import qr, services, tokens
from cityhall.city import current_city
from cityhall.languages import language_names
from models import Center, District, utcnow
from models.center import CheckinMode
from models.household import Child
from models.visit import Visit
from staff import audit
from staff.access import require_center, require_role, samples, scoped_centers
from staff.baseform import StaffForm
from staff.database import db_session
from staff.nav import nav_item

bp = Blueprint("checkin_staff", __name__, url_prefix="/staff/checkin",
               template_folder="templates", static_folder="static", static_url_path="/static")
api = Blueprint("checkin_api", __name__, url_prefix="/staff/api/checkin")

NAV = [
    nav_item("checkin_staff.now", _l("Now in the center"), roles={"admin", "center"},
             description=_l("Who is in your center right now; check in and out by hand; "
                            "QR poster and kiosk."), order=10),
]
ROLES = ("admin", "center")
REFRESH_SECONDS = 15


def _sample_visit(session) -> int:
    """Open a walk-in visit at the access test's in-scope center and return its id."""
    center = session.scalars(select(Center).where(Center.code == "central")).one()
    return services.check_in_walk_in(session, center, "見本", None, [date(2023, 4, 1)],
                                     utcnow(), city=current_city()).id


def _visit_at(center: Center, visit_id: int) -> Visit:
    """Return an open visit of this center, or 404."""
    visit = db_session().get(Visit, visit_id)
    if visit is None or visit.center_id != center.id:
        abort(404)
    return visit


# Now in the center


@bp.get("/")
@require_role(*ROLES)
def now():
    """List the user's centers with how many families are inside."""
    session = db_session()
    centers = scoped_centers(session)
    counts = dict(session.execute(select(Visit.center_id, func.count()).where(
        Visit.checked_out_at.is_(None)).group_by(Visit.center_id)).all())
    return render_template("checkin/now.html", centers=centers, counts=counts)


def _center_subject(center_code: str) -> str:
    return f"center:{center_code}"


@bp.get("/<center_code>/")
@require_role(*ROLES)
@audit.audit_personal_view("roster", subject=_center_subject)
def roster(center_code: str):
    """Show who is inside a center now; the page refreshes itself from the JSON below."""
    center = require_center(db_session(), center_code)
    rows = roster_rows(center)
    audit.personal_view_detail(rows=len(rows))
    return render_template("checkin/roster.html", center=center, rows=rows,
                           summary=summary(rows), refresh=REFRESH_SECONDS)


@api.get("/<center_code>/roster")
@require_role(*ROLES)
# The page polls every 15 s: its refreshes share the entry of a view less than 5 minutes old.
@audit.audit_personal_view("roster", subject=_center_subject,
                           repeat_within=timedelta(minutes=5))
def roster_json(center_code: str):
    """Return who is inside a center now, for the roster page's refresh."""
    center = require_center(db_session(), center_code)
    rows = roster_rows(center)
    audit.personal_view_detail(rows=len(rows))
    return jsonify(center=center.code, count=len(rows), summary=summary(rows), visits=rows)


def summary(rows: list[dict]) -> str:
    """Say how many families and children are inside, and as of when."""
    return gettext("%(families)s families, %(children)s children inside (as of %(time)s)",
                   families=len(rows), children=sum(len(r["children"]) for r in rows),
                   time=current_city().local(utcnow()).strftime("%H:%M:%S"))


def roster_rows(center: Center) -> list[dict]:
    """Describe each open visit: guardian, children with ages, since when."""
    session = db_session()
    now, city = utcnow(), current_city()
    return [{"id": v.id, "guardian": services.guardian_name(session, v),
             **language_cell(services.visitor_language(session, v)),
             "walk_in": v.walk_in_name is not None,
             "children": [_child_row(session, c.child_id, c.age_months) for c in v.children],
             "since": city.local(v.checked_in_at).strftime("%H:%M"),
             "stay": gettext("%(minutes)s min",
                             minutes=int((now - v.checked_in_at).total_seconds() // 60)),
             "checkout_url": url_for("checkin_staff.checkout", center_code=center.code,
                                     visit_id=v.id)}
            for v in services.roster(session, center)]


def language_cell(code: str | None) -> dict:
    """The resident's language as staff see it: its own name, and its code for `lang`."""
    if code is None:
        return {"language": "—", "language_code": None}
    return {"language": language_names().get(code, code), "language_code": code}


def _child_row(session, child_id: int | None, age_months: int) -> dict:
    """Describe a child on the roster: name, age, and the allergy and care notes registered now."""
    child = session.get(Child, child_id) if child_id else None
    notes = (child.notes or "").strip() if child else ""
    return {"name": child.name if child else "—", "age": age_label(age_months),
            "care_notes": notes or None}


def age_label(months: int) -> str:
    """Show an age as years and months (months only under one year)."""
    years, rest = divmod(months, 12)
    if years == 0:
        return gettext("%(months)s months", months=rest)
    return gettext("%(years)s y %(months)s m", years=years, months=rest)


@bp.post("/<center_code>/visits/<int:visit_id>/checkout")
@require_role(*ROLES)
@samples(visit_id=_sample_visit)
def checkout(center_code: str, visit_id: int):
    """Check a family out by hand (audited); its guardians are told by push."""
    session = db_session()
    center = require_center(session, center_code)
    visit = _visit_at(center, visit_id)
    if services.check_out_by_staff(session, visit, utcnow(), city=current_city()):
        audit.record(session, "visit.checkout", target=f"visit:{visit.id}",
                     detail={"center": center.code})
        flash(gettext("Checked out."), "info")
    else:
        flash(gettext("This family had already checked out."), "info")
    session.commit()
    return redirect(url_for("checkin_staff.roster", center_code=center.code))


# Check-in by hand


class PhoneForm(StaffForm):
    phone = StringField(_l("Phone number of a registered guardian"),
                        validators=[DataRequired(_l("Please enter a phone number.")),
                                    Length(max=20)], render_kw={"autocomplete": "off"})
    kana = StringField(_l("The guardian's name in kana, as registered"),
                       validators=[DataRequired(_l("Please enter the name in kana.")),
                                   Length(max=100)], render_kw={"autocomplete": "off"})
    submit = SubmitField(_l("Check in all children"))


def born_by_today(form, field) -> None:
    """Refuse a birth date after today in the city (a typo such as 2030 for 2020)."""
    today = current_city().today(utcnow())
    if field.data is not None and field.data > today:
        raise ValidationError(gettext("A birth date cannot be after today (%(today)s).",
                                      today=today.isoformat()))


class WalkInForm(StaffForm):
    name = StringField(_l("Guardian's name"), validators=[
        DataRequired(_l("Please enter a name.")), Length(max=100)])
    district = SelectField(_l("District"), validators=[Optional()])
    birth1 = DateField(_l("Child's birth date"), validators=[
        DataRequired(_l("Please enter at least one birth date.")), born_by_today])
    birth2 = DateField(_l("Another child's birth date"), validators=[Optional(), born_by_today])
    birth3 = DateField(_l("Another child's birth date"), validators=[Optional(), born_by_today])
    submit = SubmitField(_l("Check in"))


@bp.route("/<center_code>/checkin", methods=["GET", "POST"])
@require_role(*ROLES)
def manual_checkin(center_code: str):
    """Check in a family without a phone: a registered one by phone number, or a walk-in."""
    session = db_session()
    center = require_center(session, center_code)
    phone, walk_in = PhoneForm(prefix="phone"), WalkInForm(prefix="walkin")
    walk_in.district.choices = [("", "—")] + [
        (d.code, d.name_ja) for d in session.scalars(select(District).order_by(District.id))]
    if phone.submit.data and phone.validate_on_submit():
        done = _check_in_by_phone(center, phone)
    elif walk_in.submit.data and walk_in.validate_on_submit():
        done = _check_in_walk_in(center, walk_in)
    else:
        done = None
    if done is not None:
        return done
    return render_template("checkin/manual.html", center=center, phone=phone, walk_in=walk_in)


def _check_in_by_phone(center: Center, form: PhoneForm):
    """Check in the family whose phone AND kana match; the family is told by push."""
    session = db_session()
    guardian = services.guardian_by_phone_and_kana(session, form.phone.data, form.kana.data)
    if guardian is None:
        # One answer for either mismatch, and no name shown: a phone number reveals nobody.
        return _refused(center, form, "no_match", gettext(
            "No registered family matches this phone number and kana name. Check both with "
            "the guardian."))
    if not guardian.household.children:
        return _refused(center, form, "no_children",
                        gettext("This family has no registered children."))
    try:
        visit, moved = services.check_in_by_staff(session, center, guardian, utcnow(),
                                                  city=current_city())
    except services.AlreadyInside:
        return _refused(center, form, "already_inside",
                        gettext("This family is already checked in."))
    return _checked_in(center, visit, walk_in=False, moved=[m.id for m in moved])


def _refused(center: Center, form: PhoneForm, reason: str, message: str) -> None:
    """Show why nothing happened, and audit the attempt (repeated misses stand out)."""
    session = db_session()
    session.rollback()
    audit.record(session, "visit.checkin_refused", target=f"center:{center.code}",
                 detail={"center": center.code, "reason": reason})
    session.commit()
    form.form_errors.append(message)


def _check_in_walk_in(center: Center, form: WalkInForm):
    births = [f.data for f in (form.birth1, form.birth2, form.birth3) if f.data]
    visit = services.check_in_walk_in(db_session(), center, form.name.data.strip(),
                                      form.district.data or None, births, utcnow(),
                                      city=current_city())
    return _checked_in(center, visit, walk_in=True)


def _checked_in(center: Center, visit: Visit, walk_in: bool, moved: list[int] | None = None):
    session = db_session()
    detail = {"center": center.code, "walk_in": walk_in, "children": len(visit.children)}
    if moved:
        detail["ended_visits"] = moved
    audit.record(session, "visit.checkin", target=f"visit:{visit.id}", detail=detail)
    session.commit()
    flash(gettext("Checked in."), "info")
    return redirect(url_for("checkin_staff.roster", center_code=center.code))


# QR poster and kiosk


@bp.get("/<center_code>/qr")
@require_role(*ROLES)
def qr_page(center_code: str):
    """Show the center's check-in mode, the poster download and the kiosk link."""
    session = db_session()
    center = require_center(session, center_code)
    return render_template("checkin/qr.html", center=center,
                           version=services.poster_version(session, center),
                           kiosk=center.checkin_mode == CheckinMode.KIOSK)


@bp.get("/<center_code>/poster.pdf")
@require_role(*ROLES)
def poster(center_code: str):
    """Download the printable A4 poster with the center's current QR code."""
    session = db_session()
    center = require_center(session, center_code)
    version = services.poster_version(session, center)
    url = qr.line_url(tokens.poster_token(center.code, version))
    try:
        pdf = qr.poster_pdf(center, url, version)
    except qr.PosterFontMissing as err:
        current_app.logger.error("QR poster: %s", err)
        flash(gettext("The poster cannot be made: the server has no Japanese font. "
                      "Ask the administrator to install one (see docs/checkin.md)."), "error")
        return redirect(url_for("checkin_staff.qr_page", center_code=center.code))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="checkin-{center.code}-v{version}.pdf"'})


@bp.post("/<center_code>/poster/reissue")
@require_role(*ROLES)
def reissue(center_code: str):
    """Revoke the printed posters and issue a new code (audited)."""
    session = db_session()
    center = require_center(session, center_code)
    version = services.reissue_poster(session, center, utcnow())
    audit.record(session, "center.poster_reissue", target=f"center:{center.code}",
                 detail={"version": version})
    session.commit()
    flash(gettext("A new poster code was issued. Print the new poster: the old one no longer "
                  "works."), "info")
    return redirect(url_for("checkin_staff.qr_page", center_code=center.code))


@bp.get("/<center_code>/kiosk")
@require_role(*ROLES)
def kiosk(center_code: str):
    """Show the rotating QR code for a tablet at the entrance."""
    center = require_center(db_session(), center_code)
    return render_template("checkin/kiosk.html", center=center,
                           refresh=tokens.KIOSK_WINDOW_SECONDS // 2,
                           kiosk=center.checkin_mode == CheckinMode.KIOSK)


@bp.get("/<center_code>/kiosk.png")
@require_role(*ROLES)
def kiosk_png(center_code: str):
    """Return the QR code of this time window (valid for this window and the next)."""
    center = require_center(db_session(), center_code)
    url = qr.line_url(tokens.kiosk_token(center.code, utcnow()))
    return Response(qr.qr_png(url), mimetype="image/png")
