"""The staff member's own second factor: enrol, renew recovery codes, turn it off."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext

from models.base import utcnow
from staff import audit, second_factor, throttle
from staff.access import current_staff, require_role
from staff.auth import WRONG_CODE, client_address, second_factor_required, throttled
from staff.database import db_session
from staff.forms import CodeForm
from staff.errors import N_
from staff.views import bp, refused

REQUIRED = N_("Your role must keep a second factor.")


class CodeThrottled(Exception):
    """A code came before the wait for this account and address was over."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@bp.route("/account/two-factor", methods=["GET", "POST"])
@require_role()
def two_factor():
    """Show the second factor's state; enrol one with a code from the QR code's secret."""
    dbs = db_session()
    user = current_staff()
    form = CodeForm()
    if user.has_second_factor or not form.validate_on_submit():
        return _page(dbs, user, form=form)
    codes = _checked(dbs, user, form, lambda now: second_factor.confirm_enrolment(
        dbs, user, form.code.data, now))
    if not codes:
        return _page(dbs, user, form=form)
    audit.record(dbs, "staff_user.two_factor_enrolled", target=f"staff:{user.username}",
                 detail={"at": "account"})
    dbs.commit()
    return render_template("staff/recovery_codes.html", codes=codes,
                           next=url_for("staff.two_factor"))


@bp.post("/account/two-factor/recovery-codes")
@require_role()
def two_factor_recovery_codes():
    """Replace the recovery codes, after a current code proves the phone is at hand."""
    dbs = db_session()
    user = current_staff()
    if not user.has_second_factor:
        return redirect(url_for("staff.two_factor"))  # the page offers to set one up
    form = CodeForm()
    if not form.validate_on_submit() or not _checked(dbs, user, form, lambda now: (
            second_factor.prove(dbs, user, form.code.data, now))):
        return _page(dbs, user, form=form)
    codes = second_factor.new_recovery_codes(dbs, user, utcnow())
    audit.record(dbs, "staff_user.recovery_codes_renewed", target=f"staff:{user.username}")
    dbs.commit()
    return render_template("staff/recovery_codes.html", codes=codes,
                           next=url_for("staff.two_factor"))


@bp.post("/account/two-factor/off")
@require_role()
def two_factor_off():
    """Turn the second factor off (not for a role that must keep one)."""
    dbs = db_session()
    user = current_staff()
    if not user.has_second_factor:
        return redirect(url_for("staff.two_factor"))  # the page offers to set one up
    if second_factor_required(user):
        flash(gettext(REQUIRED), "error")
        return redirect(url_for("staff.two_factor"))
    form = CodeForm(prefix="off")
    if not form.validate_on_submit() or not _checked(dbs, user, form, lambda now: (
            second_factor.prove(dbs, user, form.code.data, now))):
        return _page(dbs, user, off_form=form)
    second_factor.remove(dbs, user)
    audit.record(dbs, "staff_user.two_factor_disabled", target=f"staff:{user.username}")
    dbs.commit()
    flash(gettext("The second factor is off."), "info")
    return redirect(url_for("staff.two_factor"))


@bp.errorhandler(CodeThrottled)
def code_throttled(error: CodeThrottled):
    """Answer 429 with the page and how long to wait."""
    dbs = db_session()
    dbs.rollback()
    user = current_staff()
    return refused(dbs, throttled(error.seconds), "staff/two_factor.html",
                   **_context(dbs, user))


def _checked(dbs, user, form, check):
    """Count the attempt, run `check(now)`; a falsy result is a wrong code on the form."""
    now = utcnow()
    wait = throttle.charge(dbs, user.username, client_address(), now)
    if wait:
        raise CodeThrottled(wait)
    result = check(now)
    if result:
        throttle.forgive(dbs, user.username, client_address(), 1, now)
    else:
        audit.record(dbs, "auth.second_factor_failed", target=f"staff:{user.username}")
        form.code.errors.append(gettext(WRONG_CODE))
    return result


def _context(dbs, user, form=None, off_form=None) -> dict:
    context = {"user": user, "form": form or CodeForm(formdata=None),
               "required": second_factor_required(user),
               "off_form": off_form or CodeForm(prefix="off", formdata=None)}
    if user.has_second_factor:
        context["left"] = second_factor.unused_recovery_codes(dbs, user)
    else:
        context["enrolment"] = second_factor.enrolment(dbs, user)
    return context


def _page(dbs, user, **forms):
    context = _context(dbs, user, **forms)
    dbs.commit()
    failed = any(f.errors for f in (context["form"], context["off_form"]))
    return render_template("staff/two_factor.html", **context), 400 if failed else 200
