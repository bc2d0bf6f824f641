"""Sign-in in two steps (password, then a TOTP or recovery code), sessions and throttling.

The cookie holds a random session token (as Flask-Login's user id); the database holds its
SHA-256 with the account, creation and last-seen times. Every request checks that row, so
sign-out, disabling an account or a password reset ends the session everywhere, and idle and
absolute timeouts hold whatever the browser keeps.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy.orm import Session

from models.base import utcnow
from models.staff import StaffSession, StaffUser
from staff import audit, second_factor, throttle
from staff.accounts import find_by_username
from staff.database import db_session
from staff.errors import N_
from staff.passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from staff.throttle import keyed_hash

log = logging.getLogger(__name__)
login_manager = LoginManager()
WRONG_CREDENTIALS = N_("Wrong username or password.")
THROTTLED = N_("Too many failed sign-ins. Please try again in %(seconds)d seconds.")
THROTTLED_MINUTES = N_("Too many failed sign-ins. Please try again in %(minutes)d minutes.")
WRONG_CODE = N_("That code is not right or was already used. Please enter the current code.")
# The cookie-session key of a sign-in whose password was right and whose code is awaited.
SECOND_STEP = "staff_second_step"
# last_seen_at is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)


def token_hash(token: str) -> str:
    """Return the database key of a session token (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_is_live(row: StaffSession, now: datetime) -> bool:
    """Tell whether a session is neither revoked nor past its idle or absolute limit."""
    cfg = current_app.config
    return (row.revoked_at is None
            and now - row.last_seen_at <= timedelta(minutes=cfg["STAFF_IDLE_MINUTES"])
            and now - row.created_at <= timedelta(hours=cfg["STAFF_SESSION_HOURS"]))


def load_user(token: str) -> StaffUser | None:
    """Return the account of a live session token, or None (then the user must sign in)."""
    dbs = db_session()
    row = dbs.get(StaffSession, token_hash(token))
    now = utcnow()
    # An account that must have a second factor but has none (promoted to admin, or reset)
    # enrols at its next sign-in; the sessions it had until then end.
    if (row is None or not session_is_live(row, now) or row.user.disabled
            or (second_factor_required(row.user) and not row.user.has_second_factor)):
        g.staff_session_ended = row is not None
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
        dbs.commit()
    row.user.session_token = token
    return row.user


def second_factor_required(user: StaffUser) -> bool:
    """Tell whether the account's role must have a second factor."""
    return second_factor.required_for(user, current_app.config["STAFF_SECOND_FACTOR_ROLES"])


def second_factor_asked(user: StaffUser) -> bool:
    """Tell whether sign-in asks this account for a code, or to enrol first."""
    return second_factor.asked_of(user, current_app.config["STAFF_SECOND_FACTOR_ROLES"])


def unauthorized():
    """Answer 401 JSON under /staff/api, otherwise send the browser to the sign-in page."""
    if request.path.startswith("/staff/api/"):
        return jsonify(error="unauthorized", message=gettext("Please sign in.")), 401
    if g.get("staff_session_ended"):
        flash(gettext("Your session has ended. Please sign in again."), "info")
    target = request.path if request.method == "GET" else None
    return redirect(url_for("staff.login", next=target))


def safe_next(target: str | None) -> str:
    """Return `target` when it is a staff page on this site, else the home page."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff"):
        return url_for("staff.home")
    return parts.path


@dataclass
class SignInResult:
    user: StaffUser | None
    error: str | None = None
    params: dict[str, int] | None = None
    status: int = 401
    retry_after: int = 0


def throttled(seconds: int) -> SignInResult:
    """Answer an attempt that came before its wait was over: 429, saying how long to wait."""
    if seconds > 90:
        return SignInResult(None, THROTTLED_MINUTES, {"minutes": math.ceil(seconds / 60)},
                            429, seconds)
    return SignInResult(None, THROTTLED, {"seconds": seconds}, 429, seconds)


def username_target(name: str, user: StaffUser | None) -> str:
    """Name the typed username in the audit log: as is for an account, else a keyed hash.

    Whatever is typed in the username box may be a password typed in the wrong box: an
    unknown name is kept only as HMAC-SHA256 under a key derived from SECRET_KEY.
    """
    return f"username:{name}" if user else f"username-hash:{keyed_hash('username', name)}"


def client_address() -> str:
    return audit.remote_addr() or "unknown"


def attempt_sign_in(dbs: Session, username: str, password: str, now: datetime) -> SignInResult:
    """Check the credentials unless this attempt must wait; audit a failure."""
    name = (username or "").strip().lower()[:64]
    wait = throttle.charge(dbs, name, client_address(), now)
    if wait:
        log.warning("staff sign-in throttled for %d s", wait)
        return throttled(wait)
    user = find_by_username(dbs, name)
    if user is None:
        burn_verification_time(password)
    if user is None or not verify_password(user.password_hash, password) or user.disabled:
        audit.record(dbs, "auth.login_failed", target=username_target(name, user),
                     detail={"step": "password"})
        return SignInResult(None, WRONG_CREDENTIALS)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return SignInResult(user)


def begin_second_step(user: StaffUser, next_path: str, now: datetime) -> None:
    """Remember, in the signed cookie, whose password was right; the code comes next."""
    session[SECOND_STEP] = {"user": user.id, "since": int(now.timestamp()), "next": next_path}


def second_step_user(dbs: Session, now: datetime) -> StaffUser | None:
    """Return the account waiting for its second step, or None when there is none or it expired."""
    state = session.get(SECOND_STEP)
    if not isinstance(state, dict):
        return None
    age = now.timestamp() - state.get("since", 0)
    if not 0 <= age <= current_app.config["STAFF_SECOND_STEP_MINUTES"] * 60:
        return None
    user = dbs.get(StaffUser, state.get("user"))
    return user if user is not None and not user.disabled else None


def second_step_next() -> str:
    state = session.get(SECOND_STEP)
    return state.get("next", "") if isinstance(state, dict) else ""


def attempt_second_step(dbs: Session, user: StaffUser, code: str, now: datetime) -> SignInResult:
    """Check a TOTP code (each accepted once) or a recovery code (each usable once)."""
    wait = throttle.charge(dbs, user.username, client_address(), now)
    if wait:
        return throttled(wait)
    if second_factor.accept_code(dbs, user, code, now):
        return SignInResult(user)
    if second_factor.use_recovery_code(dbs, user, code, now):
        audit.record(dbs, "auth.recovery_code_used", target=f"staff:{user.username}", user=user,
                     detail={"left": second_factor.unused_recovery_codes(dbs, user)})
        return SignInResult(user)
    audit.record(dbs, "auth.second_factor_failed", target=f"staff:{user.username}", user=user)
    return SignInResult(None, WRONG_CODE)


def complete_sign_in(dbs: Session, user: StaffUser, now: datetime, attempts: int) -> None:
    """Forgive this sign-in's counted attempts and open the session."""
    throttle.forgive(dbs, user.username, client_address(), attempts, now)
    user.last_login_at = now
    start_session(dbs, user, now)


def start_session(dbs: Session, user: StaffUser, now: datetime) -> None:
    """Open a new server-side session, rotate the cookie and sign the user in."""
    token = secrets.token_urlsafe(32)
    dbs.add(StaffSession(token_hash=token_hash(token), staff_user_id=user.id, created_at=now,
                         last_seen_at=now, remote_addr=audit.remote_addr()))
    audit.record(dbs, "auth.login", target=f"staff:{user.username}", user=user)
    dbs.commit()
    user.session_token = token
    _reset_cookie_session()
    login_user(user)


def end_session(dbs: Session, user: StaffUser, now: datetime) -> None:
    """Revoke the current session in the database and clear the cookie."""
    if user.session_token:
        row = dbs.get(StaffSession, token_hash(user.session_token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
    audit.record(dbs, "auth.logout", target=f"staff:{user.username}", user=user)
    dbs.commit()
    logout_user()
    _reset_cookie_session()


def _reset_cookie_session() -> None:
    # Nothing from before survives a sign-in or sign-out (fixation), except the language.
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
