"""The staff shell's own pages: sign-in and -out, language, home, own password, centers."""

from __future__ import annotations

from flask import (Blueprint, current_app, flash, jsonify, make_response, redirect,
                   render_template, request, session, url_for)
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user

from models.base import utcnow
from models.center import WEEKDAYS, Center
from staff import audit, second_factor, throttle
from staff.access import (current_staff, public, require_center, require_department,
                          require_role, scoped_centers, scoped_departments)
from staff.accounts import set_password
from staff.auth import (WRONG_CODE, attempt_second_step, attempt_sign_in, begin_second_step,
                        client_address, complete_sign_in, end_session, safe_next,
                        second_factor_asked, second_step_next, second_step_user, throttled,
                        token_hash)
from staff.database import db_session
from staff.errors import StaffError
from staff.forms import CodeForm, LanguageForm, LoginForm, OwnPasswordForm
from staff.nav import nav_for, nav_item
from staff.passwords import verify_password
from staff.templating import init_templating

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates",
               static_folder="static", static_url_path="/static")
init_templating(bp)

NAV = [
    nav_item("staff.centers", _l("Centers"), roles={"admin", "center"},
             description=_l("Your centers: opening hours, address and check-in mode."), order=20),
    nav_item("staff.departments", _l("Departments"), roles={"admin", "department"},
             description=_l("Your departments."), order=30),
]


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Show the sign-in form and check the password (the second factor comes next)."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("staff/login.html", form=form)
    dbs = db_session()
    now = utcnow()
    result = attempt_sign_in(dbs, form.username.data, form.password.data, now)
    if result.user is None:
        return refused(dbs, result, "staff/login.html", form=form)
    if second_factor_asked(result.user):
        dbs.commit()
        begin_second_step(result.user, form.next.data or "", now)
        return redirect(url_for("staff.login_code"))
    complete_sign_in(dbs, result.user, now, attempts=1)
    return redirect(safe_next(form.next.data))


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code():
    """Ask for the 6-digit code (or a recovery code); enrol an admin who has no factor yet."""
    dbs = db_session()
    now = utcnow()
    user = second_step_user(dbs, now)
    if current_user.is_authenticated or user is None:
        if user is None and not current_user.is_authenticated:
            flash(gettext("Please sign in again."), "info")
        return redirect(url_for("staff.login"))
    if not user.has_second_factor:
        return enrol_at_sign_in(dbs, user, now)
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("staff/login_code.html", form=form, user=user)
    result = attempt_second_step(dbs, user, form.code.data, now)
    if result.user is None:
        return refused(dbs, result, "staff/login_code.html", form=form, user=user)
    next_path = second_step_next()
    complete_sign_in(dbs, user, now, attempts=2)
    return redirect(safe_next(next_path))


def enrol_at_sign_in(dbs, user, now):
    """Show the QR code of a new secret and turn it on when a code from it is entered."""
    form = CodeForm()
    if form.validate_on_submit():
        wait = throttle.charge(dbs, user.username, client_address(), now)
        if wait:
            return refused(dbs, throttled(wait), "staff/login_code.html", form=form, user=user,
                           enrolment=second_factor.enrolment(dbs, user))
        codes = second_factor.confirm_enrolment(dbs, user, form.code.data, now)
        if codes is not None:
            audit.record(dbs, "staff_user.two_factor_enrolled", target=f"staff:{user.username}",
                         user=user, detail={"at": "sign-in"})
            next_path = second_step_next()
            complete_sign_in(dbs, user, now, attempts=2)
            return render_template("staff/recovery_codes.html", codes=codes,
                                   next=safe_next(next_path))
        audit.record(dbs, "auth.second_factor_failed", target=f"staff:{user.username}",
                     user=user, detail={"at": "enrolment"})
        form.code.errors.append(gettext(WRONG_CODE))
    view = second_factor.enrolment(dbs, user)
    dbs.commit()
    return render_template("staff/login_code.html", form=form, user=user, enrolment=view), (
        400 if form.code.errors else 200)


def refused(dbs, result, template: str, **context):
    """Answer a refused step: 401 saying what was wrong, or 429 saying how long to wait."""
    dbs.commit()
    flash(gettext(result.error, **(result.params or {})), "error")
    response = make_response(render_template(template, **context), result.status)
    if result.retry_after:
        response.headers["Retry-After"] = str(result.retry_after)
    return response


@bp.post("/logout")
@require_role()
def logout():
    """Sign out: the session ends on the server too."""
    end_session(db_session(), current_staff(), utcnow())
    flash(gettext("You have signed out."), "info")
    return redirect(url_for("staff.login"))


@bp.post("/language")
@public
def language():
    """Switch the staff pages' language for this browser."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
    else:
        flash(gettext("That language is not available."), "error")
    return redirect(safe_next(request.form.get("next")))


@bp.get("/")
@require_role()
def home():
    """Show what this role can do."""
    return render_template("staff/home.html", items=nav_for(current_staff()),
                           centers=scoped_centers(db_session()))


@bp.route("/account/password", methods=["GET", "POST"])
@require_role()
def own_password():
    """Let staff change their own password; other sessions of the account end."""
    form = OwnPasswordForm()
    user = current_staff()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current_password.data):
            form.current_password.errors.append(gettext("The current password is wrong."))
        else:
            return _change_own_password(form, user)
    return render_template("staff/own_password.html", form=form)


def _change_own_password(form: OwnPasswordForm, user):
    dbs = db_session()
    try:
        set_password(dbs, user, form.new_password.data, current_app.config[
            "STAFF_PASSWORD_MIN_LENGTH"], keep_token_hash=token_hash(user.session_token))
    except StaffError as err:
        form.new_password.errors.append(err.translated())
        return render_template("staff/own_password.html", form=form)
    audit.record(dbs, "staff_user.password_changed", target=f"staff:{user.username}")
    dbs.commit()
    flash(gettext("Your password has been changed."), "info")
    return redirect(url_for("staff.home"))


@bp.get("/centers")
@require_role("admin", "center")
def centers():
    """List the centers this staff member works for."""
    return render_template("staff/centers.html", centers=scoped_centers(db_session()))


@bp.get("/centers/<center_code>")
@require_role("admin", "center")
def center(center_code: str):
    """Show one center: address, hours, closed days, check-in mode."""
    found = require_center(db_session(), center_code)
    return render_template("staff/center.html", center=found, weekdays=WEEKDAYS)


@bp.get("/departments")
@require_role("admin", "department")
def departments():
    """List the departments this staff member works for."""
    return render_template("staff/departments.html",
                           departments=scoped_departments(db_session()))


@bp.get("/departments/<department_code>")
@require_role("admin", "department")
def department(department_code: str):
    """Show one department (its application inbox comes with the forms feature)."""
    found = require_department(db_session(), department_code)
    return render_template("staff/department.html", department=found)


@bp.get("/api/me")
@require_role()
def api_me():
    """Return the signed-in staff member's role and scopes."""
    user = current_staff()
    return jsonify(username=user.username, display_name=user.display_name, role=user.role.value,
                   centers=[c.code for c in user.centers],
                   departments=[d.code for d in user.departments])


@bp.get("/api/centers")
@require_role("admin", "center")
def api_centers():
    """Return the centers in scope."""
    return jsonify(centers=[center_json(c) for c in scoped_centers(db_session())])


@bp.get("/api/centers/<center_code>")
@require_role("admin", "center")
def api_center(center_code: str):
    """Return one center in scope (404 otherwise)."""
    return jsonify(center_json(require_center(db_session(), center_code)))


def center_json(center: Center) -> dict:
    """Describe a center for JSON clients."""
    return {"code": center.code, "name_ja": center.name_ja, "name_en": center.name_en,
            "address": center.address, "district": center.district.code if center.district else None,
            "opening_hours": center.opening_hours, "closed_days": center.closed_days,
            "checkin_mode": center.checkin_mode.value, "active": center.active}


from staff import two_factor_views  # noqa: E402,F401  (registers the account's 2FA pages on bp)
