"""Admin pages for centers, departments and districts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy import select
from wtforms import SelectChoice

from models.center import WEEKDAYS, Center, Department, District
from staff import audit, places
from staff.access import require_center, require_department, require_role, samples
from staff.admin import bp
from staff.admin.forms import (CenterForm, DepartmentForm, DistrictForm, form_time,
                               parse_closed_days)
from staff.database import db_session
from staff.errors import StaffError
from staff.templating import localized


@bp.get("/centers")
@require_role("admin")
def centers():
    """List every center, active or not."""
    rows = db_session().scalars(select(Center).order_by(Center.code))
    return render_template("staff/admin/centers.html", centers=list(rows))


@bp.route("/centers/new", methods=["GET", "POST"])
@require_role("admin")
def center_new():
    """Add a center."""
    dbs = db_session()
    form = _with_districts(CenterForm(), dbs)
    if form.validate_on_submit():
        return _create(dbs, Center, form, _center_values(form, dbs), "center", "staff_admin.centers")
    return render_template("staff/admin/center_form.html", form=form, center=None,
                           weekdays=WEEKDAYS)


@bp.route("/centers/<center_code>", methods=["GET", "POST"])
@require_role("admin")
def center_edit(center_code: str):
    """Change a center's names, address, district, hours, closed days and check-in mode."""
    dbs = db_session()
    center = require_center(dbs, center_code)
    form = _with_districts(CenterForm(data=_center_data(center)), dbs)
    form.code.data = center.code  # the code never changes: printed QR posters carry it
    if form.validate_on_submit():
        return _update(dbs, center, _center_values(form, dbs), "center", "staff_admin.centers")
    return render_template("staff/admin/center_form.html", form=form, center=center,
                           weekdays=WEEKDAYS)


def _with_districts(form: CenterForm, dbs) -> CenterForm:
    districts = dbs.scalars(select(District).order_by(District.id))
    form.district.choices = [SelectChoice("", gettext("(none)"))] + [
        SelectChoice(d.code, localized(d)) for d in districts]
    return form


def _center_values(form: CenterForm, dbs) -> dict:
    district = dbs.scalars(select(District).where(District.code == form.district.data)).first()
    return {"name_ja": form.name_ja.data.strip(), "name_en": form.name_en.data.strip(),
            "short_name_en": (form.short_name_en.data or "").strip() or None,
            "address": (form.address.data or "").strip() or None,
            "district_id": district.id if district else None,
            "opening_hours": form.opening_hours(),
            "closed_days": parse_closed_days(form.closed_days.data or ""),
            "checkin_mode": form.checkin_mode.data, "active": form.active.data}


def _center_data(center: Center) -> dict:
    data = {"code": center.code, "name_ja": center.name_ja, "name_en": center.name_en,
            "short_name_en": center.short_name_en or "",
            "address": center.address or "", "active": center.active,
            "district": center.district.code if center.district else "",
            "checkin_mode": center.checkin_mode.value,
            "closed_days": "\n".join(center.closed_days or [])}
    for day in WEEKDAYS:
        hours = center.hours_on(day)
        data[f"{day}_opens"] = form_time(hours[0]) if hours else None
        data[f"{day}_closes"] = form_time(hours[1]) if hours else None
    return data


@bp.get("/departments")
@require_role("admin")
def departments():
    """List every department."""
    rows = db_session().scalars(select(Department).order_by(Department.code))
    return render_template("staff/admin/departments.html", departments=list(rows))


@bp.route("/departments/new", methods=["GET", "POST"])
@require_role("admin")
def department_new():
    """Add a department."""
    dbs = db_session()
    form = DepartmentForm()
    if form.validate_on_submit():
        return _create(dbs, Department, form, _names(form) | {"active": form.active.data},
                       "department", "staff_admin.departments")
    return render_template("staff/admin/simple_form.html", form=form, row=None,
                           kind="department", back="staff_admin.departments")


@bp.route("/departments/<department_code>", methods=["GET", "POST"])
@require_role("admin")
def department_edit(department_code: str):
    """Rename a department or mark it inactive."""
    dbs = db_session()
    row = require_department(dbs, department_code)
    form = DepartmentForm(obj=row)
    form.code.data = row.code
    if form.validate_on_submit():
        return _update(dbs, row, _names(form) | {"active": form.active.data}, "department",
                       "staff_admin.departments")
    return render_template("staff/admin/simple_form.html", form=form, row=row,
                           kind="department", back="staff_admin.departments")


@bp.get("/districts")
@require_role("admin")
def districts():
    """List the city's districts."""
    rows = db_session().scalars(select(District).order_by(District.id))
    return render_template("staff/admin/districts.html", districts=list(rows))


@bp.route("/districts/new", methods=["GET", "POST"])
@require_role("admin")
def district_new():
    """Add a district."""
    dbs = db_session()
    form = DistrictForm()
    if form.validate_on_submit():
        return _create(dbs, District, form, _names(form), "district", "staff_admin.districts")
    return render_template("staff/admin/simple_form.html", form=form, row=None,
                           kind="district", back="staff_admin.districts")


@bp.route("/districts/<district_code>", methods=["GET", "POST"])
@require_role("admin")
@samples(district_code="ota")
def district_edit(district_code: str):
    """Rename a district."""
    dbs = db_session()
    row = dbs.scalars(select(District).where(District.code == district_code)).first()
    if row is None:
        abort(404)
    form = DistrictForm(obj=row)
    form.code.data = row.code
    if form.validate_on_submit():
        return _update(dbs, row, _names(form), "district", "staff_admin.districts")
    return render_template("staff/admin/simple_form.html", form=form, row=row,
                           kind="district", back="staff_admin.districts")


def _names(form) -> dict:
    return {"name_ja": form.name_ja.data.strip(), "name_en": form.name_en.data.strip()}


def _create(dbs, model, form, values: dict, kind: str, back: str):
    try:
        row = places.create(dbs, model, form.code.data, values)
    except StaffError as err:
        form.code.errors.append(err.translated())
        template = "staff/admin/center_form.html" if model is Center else "staff/admin/simple_form.html"
        return render_template(template, form=form, row=None, center=None, kind=kind, back=back,
                               weekdays=WEEKDAYS)
    audit.record(dbs, f"{kind}.create", target=f"{kind}:{row.code}", detail=places.snapshot(row))
    dbs.commit()
    flash(gettext("%(code)s was added.", code=row.code), "info")
    return redirect(url_for(back))


def _update(dbs, row, values: dict, kind: str, back: str):
    diff = places.update(row, values)
    if diff:
        audit.record(dbs, f"{kind}.update", target=f"{kind}:{row.code}", detail=diff)
    dbs.commit()
    flash(gettext("%(code)s was saved.", code=row.code), "info")
    return redirect(url_for(back))
