"""Staff accounts: create, re-scope, disable, reset passwords (used by the CLI and admin pages)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.center import Center, Department
from models.staff import StaffRole, StaffSession, StaffUser
from staff.errors import N_, StaffError
from staff.passwords import DEFAULT_MIN_SCORE, MAX_LENGTH, check_strength, hash_password

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def normalize_username(username: str) -> str:
    """Return the username lower-cased, or raise StaffError when it is not allowed."""
    name = (username or "").strip().lower()
    if not USERNAME.match(name):
        raise StaffError(N_("A username is 2 to 64 characters: letters, digits, '.', '_' or '-'."))
    return name


def check_password_policy(password: str, username: str, min_length: int,
                          min_score: int = DEFAULT_MIN_SCORE, display_name: str = "") -> None:
    """Raise StaffError saying why a new password is refused: length, blank, name, guessable."""
    if len(password) < min_length:
        raise StaffError(N_("The password must have at least %(count)d characters."),
                         count=min_length)
    if len(password) > MAX_LENGTH:
        raise StaffError(N_("The password must have at most %(count)d characters."),
                         count=MAX_LENGTH)
    if not password.strip():
        raise StaffError(N_("The password must not be only spaces."))
    if username and username.lower() in password.lower():
        raise StaffError(N_("The password must not contain the username."))
    check_strength(password, [username, display_name, "cityhall", "staff"], min_score)


def find_by_username(session: Session, username: str) -> StaffUser | None:
    """Return the account with this username (any case), or None."""
    name = (username or "").strip().lower()
    return session.scalars(select(StaffUser).where(StaffUser.username == name)).first()


def create_account(session: Session, username: str, password: str, role: StaffRole, *,
                   center_codes: Iterable[str] = (), department_codes: Iterable[str] = (),
                   display_name: str = "", min_length: int = 12) -> StaffUser:
    """Add a staff account with its scopes; raise StaffError on bad input."""
    name = normalize_username(username)
    if find_by_username(session, name) is not None:
        raise StaffError(N_("The username %(name)s is already taken."), name=name)
    check_password_policy(password, name, min_length, display_name=display_name)
    user = StaffUser(username=name, display_name=display_name.strip(), role=role,
                     password_hash=hash_password(password))
    set_scopes(session, user, role, center_codes, department_codes)
    session.add(user)
    session.flush()
    return user


def set_scopes(session: Session, user: StaffUser, role: StaffRole,
               center_codes: Iterable[str], department_codes: Iterable[str]) -> None:
    """Set the role and the centers/departments it is limited to; admins have no scope."""
    centers = _rows_by_code(session, Center, center_codes)
    departments = _rows_by_code(session, Department, department_codes)
    if role == StaffRole.CENTER and not centers:
        raise StaffError(N_("Center staff need at least one center."))
    if role == StaffRole.DEPARTMENT and not departments:
        raise StaffError(N_("Department staff need at least one department."))
    user.role = role
    user.centers = centers if role == StaffRole.CENTER else []
    user.departments = departments if role == StaffRole.DEPARTMENT else []


def _rows_by_code(session: Session, model, codes: Iterable[str]) -> list:
    wanted = sorted({c.strip() for c in codes if c and c.strip()})
    rows = list(session.scalars(select(model).where(model.code.in_(wanted)))) if wanted else []
    missing = sorted(set(wanted) - {r.code for r in rows})
    if missing:
        raise StaffError(N_("Unknown code: %(codes)s"), codes=", ".join(missing))
    return rows


def set_password(session: Session, user: StaffUser, password: str, min_length: int,
                 keep_token_hash: str | None = None) -> None:
    """Replace the password and end the account's sessions (all but `keep_token_hash`)."""
    check_password_policy(password, user.username, min_length,
                          display_name=user.display_name or "")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    revoke_sessions(session, user, keep_token_hash=keep_token_hash)


def set_disabled(session: Session, user: StaffUser, disabled: bool) -> None:
    """Disable or enable the account; disabling ends its sessions at once."""
    user.disabled = disabled
    if disabled:
        revoke_sessions(session, user)


def revoke_sessions(session: Session, user: StaffUser, now: datetime | None = None,
                    keep_token_hash: str | None = None) -> None:
    """End the account's open sessions (all but `keep_token_hash`)."""
    query = (update(StaffSession).where(StaffSession.staff_user_id == user.id,
                                        StaffSession.revoked_at.is_(None))
             .values(revoked_at=now or utcnow()))
    if keep_token_hash:
        query = query.where(StaffSession.token_hash != keep_token_hash)
    if user.id is not None:
        session.execute(query)
