"""The one access helper: every staff view and JSON endpoint decides who may see what here.

    @bp.get("/centers/<center_code>")
    @require_role("admin", "center")
    def center(center_code):
        center = require_center(db_session(), center_code)   # 404 outside the user's scope
        visits = session.scalars(select(Visit).where(in_center_scope(Visit.center_id)))

Admins see everything; center staff only their centers; department staff only their
departments. Out-of-scope things answer 404, exactly like things that do not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from models.center import Center, Department
from models.staff import StaffRole, StaffUser

ACCESS_ATTR = "staff_roles"       # frozenset of roles, or PUBLIC
SAMPLES_ATTR = "staff_samples"    # URL values the route-walking test fills parameters with
PUBLIC = frozenset({"public"})
ALL_ROLES = tuple(StaffRole)


def public(view: Callable) -> Callable:
    """Let anyone open this view (the sign-in page); every other staff view needs a role."""
    setattr(view, ACCESS_ATTR, PUBLIC)
    return view


def require_role(*roles: str) -> Callable[[Callable], Callable]:
    """Let signed-in staff with one of `roles` in; others get sign-in (401) or 403."""
    allowed = frozenset(StaffRole(r) for r in (roles or ALL_ROLES))

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from staff.auth import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTR, allowed)
        return wrapper
    return decorate


def samples(**values: Any) -> Callable[[Callable], Callable]:
    """Give the access test a value per URL parameter that is not a center or department code.

    A value may be a callable taking a Session, for ids that only exist at test time.
    """
    def decorate(view: Callable) -> Callable:
        setattr(view, SAMPLES_ATTR, values)
        return view
    return decorate


def current_staff() -> StaffUser:
    """Return the signed-in staff member (call only inside a require_role view)."""
    return current_user._get_current_object()


def scoped_center_ids(user: StaffUser | None = None) -> set[int] | None:
    """Return the ids of the centers the user may see, or None for all (admins)."""
    user = user or current_staff()
    if user.role == StaffRole.ADMIN:
        return None
    if user.role == StaffRole.CENTER:
        return {c.id for c in user.centers}
    return set()


def scoped_department_ids(user: StaffUser | None = None) -> set[int] | None:
    """Return the ids of the departments the user may see, or None for all (admins)."""
    user = user or current_staff()
    if user.role == StaffRole.ADMIN:
        return None
    if user.role == StaffRole.DEPARTMENT:
        return {d.id for d in user.departments}
    return set()


def in_center_scope(column: Any, user: StaffUser | None = None) -> ColumnElement[bool]:
    """Return a WHERE clause limiting a center id column to the user's centers."""
    return _in_scope(column, scoped_center_ids(user))


def in_department_scope(column: Any, user: StaffUser | None = None) -> ColumnElement[bool]:
    """Return a WHERE clause limiting a department id column to the user's departments."""
    return _in_scope(column, scoped_department_ids(user))


def _in_scope(column: Any, ids: set[int] | None) -> ColumnElement[bool]:
    if ids is None:
        return true()
    return column.in_(sorted(ids)) if ids else false()


def scoped_centers(session: Session, user: StaffUser | None = None) -> list[Center]:
    """Return the centers the user may see, by code."""
    query = select(Center).where(in_center_scope(Center.id, user)).order_by(Center.code)
    return list(session.scalars(query))


def scoped_departments(session: Session, user: StaffUser | None = None) -> list[Department]:
    """Return the departments the user may see, by code."""
    query = (select(Department).where(in_department_scope(Department.id, user))
             .order_by(Department.code))
    return list(session.scalars(query))


def scoped_center_codes(session: Session, user: StaffUser | None = None) -> frozenset[str] | None:
    """Return the codes of the centers the user may see, or None for all (admins)."""
    if scoped_center_ids(user) is None:
        return None
    return frozenset(c.code for c in scoped_centers(session, user))


def scoped_department_codes(session: Session,
                            user: StaffUser | None = None) -> frozenset[str] | None:
    """Return the codes of the departments the user may see, or None for all (admins)."""
    if scoped_department_ids(user) is None:
        return None
    return frozenset(d.code for d in scoped_departments(session, user))


def require_center(session: Session, code: str, user: StaffUser | None = None) -> Center:
    """Return the center with this code, or answer 404 when it is missing or out of scope."""
    center = session.scalars(select(Center).where(
        Center.code == code, in_center_scope(Center.id, user))).first()
    if center is None:
        abort(404)
    return center


def require_department(session: Session, code: str, user: StaffUser | None = None) -> Department:
    """Return the department with this code, or answer 404 when missing or out of scope."""
    department = session.scalars(select(Department).where(
        Department.code == code, in_department_scope(Department.id, user))).first()
    if department is None:
        abort(404)
    return department
