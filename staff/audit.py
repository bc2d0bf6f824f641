"""Write the audit log: every sign-in, change and view or export of personal data.

    from staff.audit import record
    record(session, "center.update", target=f"center:{center.code}", detail=changes)

The entry joins the caller's transaction, so it is saved exactly when the change is.
A view that shows personal data says so once, and every answer it renders is audited:

    @bp.get("/<center_code>/")
    @require_role("admin", "center")
    @audit_personal_view("roster", subject=lambda center_code: f"center:{center_code}")
    def roster(center_code): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, g, has_request_context, make_response, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import utcnow
from models.audit import AuditLog
from models.staff import StaffUser
from staff.database import db_session


def record(session: Session, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, user: StaffUser | None = None) -> AuditLog:
    """Add an audit entry for `action` by `user` (default: the signed-in staff member)."""
    actor = user if user is not None else _current_staff()
    entry = AuditLog(action=action, target=target[:200] if target else None,
                     detail=detail or {}, remote_addr=remote_addr(),
                     staff_user_id=actor.id if actor else None,
                     username=actor.username if actor else None)
    session.add(entry)
    return entry


def remote_addr() -> str | None:
    """Return the client's address for this request, or None outside a request."""
    return (request.remote_addr or "unknown")[:64] if has_request_context() else None


def _current_staff() -> StaffUser | None:
    if not has_request_context():
        return None
    user = current_user._get_current_object()
    return user if isinstance(user, StaffUser) else None


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for every field whose value differs."""
    return {key: [before.get(key), value] for key, value in after.items()
            if before.get(key) != value}


# Views of personal data

# The attribute that marks a view as showing personal data (the route-walking test reads it).
PERSONAL_ATTR = "personal_data"


def audit_personal_view(what: str, subject: Callable[..., str | None],
                        repeat_within: timedelta | None = None) -> Callable[[Callable], Callable]:
    """Mark a view as showing personal data and audit every answer it renders.

    `what` names the data ("roster", "application", ...): the entry's action is `<what>.view`,
    or `<what>.export` for a download. `subject(**url_values)` names whose data it is
    ("center:central", "submission:12"), or returns None when this answer holds none (an
    anonymous survey). Redirects and errors raised by the view (404, 403) record nothing: they
    showed nothing. `repeat_within` lets a page's automatic refresh (the roster polls every
    15 s) share the entry of the staff member's view of the same subject a moment before.
    Put it below `@require_role(...)`; the view may add detail with `personal_view_detail`.
    """
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            response = make_response(view(*args, **kwargs))
            target = subject(**kwargs)
            if target is not None and _showed_something(response):
                record_personal_view(what, target, response, repeat_within)
            return response

        setattr(wrapper, PERSONAL_ATTR, what)
        return wrapper
    return decorate


def personal_view_detail(**values: Any) -> None:
    """Add detail (counts, filters; never the personal data itself) to this request's entry."""
    g.setdefault("personal_view_detail", {}).update(values)


def record_personal_view(what: str, target: str, response: Response,
                         repeat_within: timedelta | None = None) -> AuditLog | None:
    """Add and commit the audit entry of one view or download of personal data."""
    session = db_session()
    export = "attachment" in response.headers.get("Content-Disposition", "")
    action = f"{what}.export" if export else f"{what}.view"
    actor = _current_staff()
    if repeat_within is not None and actor is not None and _seen_recently(
            session, actor, action, target, repeat_within):
        return None
    entry = record(session, action, target=target,
                   detail={"via": _via(response), **g.get("personal_view_detail", {})})
    session.commit()
    return entry


def _showed_something(response: Response) -> bool:
    # A 400 that renders the page again (a form error) shows the data; a redirect does not.
    return response.status_code < 300 or 400 <= response.status_code < 500


def _via(response: Response) -> str:
    """Say how the data left: a page, the JSON API, or a file of this type."""
    if request.path.startswith("/staff/api/"):
        return "api"
    kind = (response.mimetype or "").split("/")[-1]
    return "page" if kind == "html" else kind


def _seen_recently(session: Session, actor: StaffUser, action: str, target: str,
                   window: timedelta) -> bool:
    return session.scalar(select(AuditLog.id).where(
        AuditLog.staff_user_id == actor.id, AuditLog.action == action, AuditLog.target == target,
        AuditLog.at > utcnow() - window).limit(1)) is not None
