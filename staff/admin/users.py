"""Admin pages for staff accounts: list, add, edit role and scopes, disable, reset password."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy import select
from wtforms import SelectChoice

from models.center import Center, Department
from models.staff import StaffRole, StaffUser
from staff import audit, second_factor
from staff.access import current_staff, require_role, samples
from staff.accounts import (create_account, revoke_sessions, set_disabled, set_password,
                            set_scopes)
from staff.admin import bp
from staff.admin.forms import PasswordResetForm, UserCreateForm, UserEditForm
from staff.database import db_session
from staff.errors import N_, StaffError
from staff.forms import ActionForm
from staff.templating import localized


def any_user_id(session) -> int:
    """Sample for the access test: the first account's id."""
    return session.scalar(select(StaffUser.id).order_by(StaffUser.id))


@bp.get("/users")
@require_role("admin")
def users():
    """List every staff account."""
    rows = db_session().scalars(select(StaffUser).order_by(StaffUser.username))
    return render_template("staff/admin/users.html", users=list(rows))


@bp.route("/users/new", methods=["GET", "POST"])
@require_role("admin")
def user_new():
    """Add a staff account."""
    dbs = db_session()
    form = _with_scope_choices(UserCreateForm(), dbs)
    if form.validate_on_submit():
        try:
            user = create_account(
                dbs, form.username.data, form.new_password.data, StaffRole(form.role.data),
                center_codes=form.centers.data, department_codes=form.departments.data,
                display_name=form.display_name.data or "", min_length=_min_length())
        except StaffError as err:
            flash(err.translated(), "error")
        else:
            audit.record(dbs, "staff_user.create", target=f"staff:{user.username}",
                         detail=_scope_detail(user))
            dbs.commit()
            flash(gettext("The account %(name)s was added.", name=user.username), "info")
            return redirect(url_for("staff_admin.users"))
    return render_template("staff/admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_role("admin")
@samples(user_id=any_user_id)
def user_edit(user_id: int):
    """Change an account's name, role, scopes, or disable it."""
    dbs = db_session()
    user = dbs.get(StaffUser, user_id) or abort(404)
    form = _with_scope_choices(UserEditForm(data=_edit_data(user)), dbs)
    if form.validate_on_submit():
        try:
            return _save_user(dbs, user, form)
        except StaffError as err:
            dbs.rollback()
            flash(err.translated(), "error")
    return render_template("staff/admin/user_edit.html", form=form, user=user,
                           password_form=PasswordResetForm(), reset_form=ActionForm())


def _save_user(dbs, user: StaffUser, form: UserEditForm):
    before = {**_scope_detail(user), "disabled": user.disabled, "display_name": user.display_name}
    role = StaffRole(form.role.data)
    if user.id == current_staff().id and (form.disabled.data or role != StaffRole.ADMIN):
        raise StaffError(N_("You cannot disable your own account or take away "
                            "your own admin role."))
    set_scopes(dbs, user, role, form.centers.data, form.departments.data)
    set_disabled(dbs, user, form.disabled.data)
    user.display_name = (form.display_name.data or "").strip()
    after = {**_scope_detail(user), "disabled": user.disabled, "display_name": user.display_name}
    audit.record(dbs, "staff_user.update", target=f"staff:{user.username}",
                 detail=audit.changes(before, after))
    dbs.commit()
    flash(gettext("The account %(name)s was saved.", name=user.username), "info")
    return redirect(url_for("staff_admin.users"))


@bp.post("/users/<int:user_id>/password")
@require_role("admin")
@samples(user_id=any_user_id)
def user_password(user_id: int):
    """Set a new password for an account; its sessions end."""
    dbs = db_session()
    user = dbs.get(StaffUser, user_id) or abort(404)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            set_password(dbs, user, form.new_password.data, _min_length())
        except StaffError as err:
            form.new_password.errors.append(err.translated())
        else:
            audit.record(dbs, "staff_user.password_reset", target=f"staff:{user.username}")
            dbs.commit()
            flash(gettext("The password of %(name)s was reset.", name=user.username), "info")
            return redirect(url_for("staff_admin.users"))
    edit_form = _with_scope_choices(UserEditForm(formdata=None, data=_edit_data(user)), dbs)
    return render_template("staff/admin/user_edit.html", form=edit_form, user=user,
                           password_form=form, reset_form=ActionForm()), 400


@bp.post("/users/<int:user_id>/two-factor/reset")
@require_role("admin")
@samples(user_id=any_user_id)
def user_two_factor_reset(user_id: int):
    """Take an account's second factor away (lost phone); it enrols again at its next sign-in."""
    dbs = db_session()
    user = dbs.get(StaffUser, user_id) or abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if user.id == current_staff().id:
        # Signing oneself out into a password-only enrolment helps only a stolen session.
        flash(gettext("Your own second factor is managed on the Second factor page."), "error")
        return redirect(url_for("staff_admin.user_edit", user_id=user.id))
    had = user.has_second_factor
    second_factor.remove(dbs, user)
    revoke_sessions(dbs, user)
    audit.record(dbs, "staff_user.two_factor_reset", target=f"staff:{user.username}",
                 detail={"had_second_factor": had})
    dbs.commit()
    flash(gettext("The second factor of %(name)s was reset. The account sets up a new one "
                  "at its next sign-in.", name=user.username), "info")
    return redirect(url_for("staff_admin.user_edit", user_id=user.id))


def _with_scope_choices(form, dbs):
    centers = dbs.scalars(select(Center).order_by(Center.code))
    departments = dbs.scalars(select(Department).order_by(Department.code))
    form.centers.choices = [SelectChoice(c.code, f"{localized(c)} ({c.code})") for c in centers]
    form.departments.choices = [SelectChoice(d.code, f"{localized(d)} ({d.code})")
                               for d in departments]
    return form


def _edit_data(user: StaffUser) -> dict:
    return {"role": user.role.value, "display_name": user.display_name, "disabled": user.disabled,
            "centers": [c.code for c in user.centers],
            "departments": [d.code for d in user.departments]}


def _scope_detail(user: StaffUser) -> dict:
    return {"role": user.role.value, "centers": [c.code for c in user.centers],
            "departments": [d.code for d in user.departments]}


def _min_length() -> int:
    return current_app.config["STAFF_PASSWORD_MIN_LENGTH"]
