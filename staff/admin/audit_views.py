"""The audit log for admins: filter, page through, export as CSV. Reading it is audited too."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from sqlalchemy import Select, func, select
from wtforms import SelectChoice

from models.audit import AuditLog
from models.staff import StaffUser
from staff import audit, exports
from staff.access import require_role
from staff.admin import bp
from staff.admin.forms import AuditFilterForm
from staff.args import page_arg, whole_number
from staff.database import db_session
from staff.errors import BadArgument

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000


@bp.get("/audit")
@require_role("admin")
def audit_log():
    """Show the audit log, newest first, filtered by action, staff member and dates."""
    dbs = db_session()
    form = _filter_form(dbs)
    query = _filtered(form)
    page = page_arg()
    total = dbs.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(dbs.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    audit.record(dbs, "audit.view", detail=_filter_detail(form, page))
    dbs.commit()
    # A filter the form refused is named beside its field and ignored; the status says so.
    return render_template("staff/admin/audit.html", form=form, rows=rows, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), total=total,
                           timezone=ZoneInfo(current_app.config["CITYHALL_TIMEZONE"])
                           ), 400 if form.errors else 200


@bp.get("/audit.csv")
@require_role("admin")
def audit_export():
    """Download the filtered audit log as CSV (UTF-8 with BOM, so Excel reads Japanese)."""
    dbs = db_session()
    form = _filter_form(dbs)
    if form.errors:
        # Never export more than was asked for because a filter could not be read.
        raise BadArgument(next(iter(form.errors)))
    rows = dbs.scalars(_filtered(form).limit(EXPORT_LIMIT))
    # Usernames typed at sign-in land here: the helper keeps them from running as formulas.
    body = exports.csv_bytes(
        ["id", "at_utc", "username", "action", "target", "detail", "remote_addr"],
        ([row.id, row.at.isoformat(), row.username or "", row.action, row.target or "",
          current_app.json.dumps(row.detail), row.remote_addr or ""] for row in rows))
    audit.record(dbs, "audit.export", detail=_filter_detail(form, None))
    dbs.commit()
    return exports.download(body, exports.CSV_MIMETYPE, "audit-log.csv")


def _filter_form(dbs) -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    actions = dbs.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action))
    users = dbs.execute(select(StaffUser.id, StaffUser.username).order_by(StaffUser.username))
    form.action.choices = [SelectChoice("", "—")] + [SelectChoice(a) for a in actions]
    form.user.choices = [SelectChoice("", "—")] + [SelectChoice(str(i), name) for i, name in users]
    form.validate()  # bad dates become errors shown beside the field, and are ignored
    return form


def _filtered(form: AuditFilterForm) -> Select:
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if form.action.data:
        query = query.where(AuditLog.action == form.action.data)
    user_id = whole_number(form.user.data)
    if user_id is not None:
        query = query.where(AuditLog.staff_user_id == user_id)
    if form.since.data and not form.since.errors:
        query = query.where(AuditLog.at >= _local_midnight(form.since.data))
    if form.until.data and not form.until.errors:
        query = query.where(AuditLog.at < _local_midnight(form.until.data) + timedelta(days=1))
    return query


def _local_midnight(day) -> datetime:
    zone = ZoneInfo(current_app.config["CITYHALL_TIMEZONE"])
    return datetime.combine(day, time(0), tzinfo=zone)


def _filter_detail(form: AuditFilterForm, page: int | None) -> dict:
    detail = {name: str(form[name].data) for name in ("action", "user", "since", "until")
              if form[name].data}
    if page and page > 1:
        detail["page"] = page
    return detail
