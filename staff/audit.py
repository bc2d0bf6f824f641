"""Write the audit log: every sign-in, change and view or export of personal data.

    from staff.audit import record
    record(session, "center.update", target=f"center:{center.code}", detail=changes)

The entry joins the caller's transaction, so it is saved exactly when the change is.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from models.audit import AuditLog
from models.staff import StaffUser


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
