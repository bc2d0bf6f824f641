"""Sign-in, sessions and lock-out.

The cookie holds a random session token (as Flask-Login's user id); the database holds its
SHA-256 with the account, creation and last-seen times. Every request checks that row, so
sign-out, disabling an account or a password reset ends the session everywhere, and idle and
absolute timeouts hold whatever the browser keeps.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.staff import LoginFailure, StaffSession, StaffUser
from staff import audit
from staff.accounts import find_by_username
from staff.database import db_session
from staff.errors import N_
from staff.passwords import burn_verification_time, hash_password, needs_rehash, verify_password

login_manager = LoginManager()
WRONG_CREDENTIALS = N_("Wrong username or password.")
LOCKED_OUT = N_("Too many failed sign-ins. Please wait %(minutes)d minutes and try again.")
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
    if row is None or not session_is_live(row, now) or row.user.disabled:
        g.staff_session_ended = row is not None
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
        dbs.commit()
    row.user.session_token = token
    return row.user


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


def attempt_sign_in(dbs: Session, username: str, password: str, now: datetime) -> SignInResult:
    """Check the credentials unless locked out; record the failure or the success."""
    name = (username or "").strip().lower()[:64]
    addr = audit.remote_addr() or "unknown"
    minutes = current_app.config["STAFF_LOCKOUT_MINUTES"]
    if is_locked_out(dbs, name, addr, now):
        audit.record(dbs, "auth.login_locked", target=f"username:{name}")
        return SignInResult(None, LOCKED_OUT, {"minutes": minutes})
    user = find_by_username(dbs, name)
    if user is None:
        burn_verification_time(password)
    if user is None or not verify_password(user.password_hash, password) or user.disabled:
        dbs.add(LoginFailure(username=name, remote_addr=addr, at=now))
        audit.record(dbs, "auth.login_failed", target=f"username:{name}")
        return SignInResult(None, WRONG_CREDENTIALS)
    _after_good_password(dbs, user, password, now)
    return SignInResult(user)


def is_locked_out(dbs: Session, name: str, addr: str, now: datetime) -> bool:
    """Tell whether this username or this address failed too often recently."""
    cfg = current_app.config
    since = now - timedelta(minutes=cfg["STAFF_LOCKOUT_MINUTES"])
    by_name = dbs.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.username == name, LoginFailure.at > since))
    by_addr = dbs.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.remote_addr == addr, LoginFailure.at > since))
    return by_name >= cfg["STAFF_LOCKOUT_FAILURES"] or by_addr >= cfg["STAFF_ADDRESS_FAILURES"]


def _after_good_password(dbs: Session, user: StaffUser, password: str, now: datetime) -> None:
    dbs.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now


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
