"""Failed webhook events for admins: what the bot could not process, with its error.

Replaying is done from the server's shell (`cityhall webhook replay ID`), where the worker
that pushes the replies runs. The list names LINE users and its errors may quote what they
sent, so every view is audited as a view of personal data.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import func, select

from bot import deadletter
from models.webhook import FailedEvent
from staff import audit
from staff.access import require_role
from staff.admin import bp
from staff.args import page_arg
from staff.database import db_session

PAGE_SIZE = 50


@bp.get("/failed-events")
@require_role("admin")
@audit.audit_personal_view("webhook_failed", subject=lambda: "failed_events")
def failed_events():
    """List the webhook events whose handler failed for good, oldest first."""
    dbs = db_session()
    total = dbs.scalar(select(func.count()).select_from(FailedEvent)) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page_arg(), pages)  # a malformed page is a 400; past the end, the last page
    rows = deadletter.listing(dbs, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    audit.personal_view_detail(page=page, shown=len(rows))
    return render_template("staff/admin/failed_events.html", rows=rows, page=page, pages=pages,
                           total=total,
                           timezone=ZoneInfo(current_app.config["CITYHALL_TIMEZONE"]))
