"""Builders and a signed-in test client for the staff web tests."""

from __future__ import annotations

import re
from functools import cache

import pyotp
import pytest
from sqlalchemy import select, update

from cityhall.config import TEST_PASSWORD_HASH_PARAMETERS
from cityhall.db import db
from cityhall.seed import seed
from models.audit import AuditLog
from models.base import utcnow
from models.staff import StaffRole, StaffUser
from staff import second_factor
from staff.accounts import set_scopes
from staff.passwords import hash_password

PASSWORD = "correct horse battery staple"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

# username -> (role, centers, departments): one account per role, each with a scope that
# leaves something out, so "wrong center" and "wrong department" can be tried.
ACCOUNTS = {
    "admin": (StaffRole.ADMIN, (), ()),
    "central": (StaffRole.CENTER, ("central",), ()),
    "roads": (StaffRole.DEPARTMENT, (), ("roads",)),
}
OUT_OF_SCOPE = {"center_code": "east", "department_code": "citizens"}
IN_SCOPE = {"center_code": "central", "department_code": "roads"}


@cache
def password_hash() -> str:
    """Hash the test password once, with the test configuration's cheap argon2 parameters."""
    return hash_password(PASSWORD, TEST_PASSWORD_HASH_PARAMETERS)


def add_staff(session, username: str, role: StaffRole, centers=(), departments=(),
              disabled: bool = False) -> StaffUser:
    """Add a staff account with the test password; an admin gets its second factor too."""
    user = StaffUser(username=username, role=role, password_hash=password_hash(),
                     display_name=username.title(), disabled=disabled)
    set_scopes(session, user, role, centers, departments)
    if role == StaffRole.ADMIN:
        second_factor.enable(user, second_factor.new_secret(), utcnow())
    session.add(user)
    session.flush()
    return user


def seed_staff(app) -> None:
    """Seed districts, centers, departments and one account per role."""
    with app.app_context(), db.transaction() as session:
        seed(session)
        for username, (role, centers, departments) in ACCOUNTS.items():
            add_staff(session, username, role, centers, departments)


def audit_actions(app) -> list[str]:
    """Return the audit log's actions, oldest first."""
    with app.app_context(), db.session() as session:
        return list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def audit_entries(app, action: str) -> list[AuditLog]:
    with app.app_context(), db.session() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == action)
                                    .order_by(AuditLog.id)))


def totp_code(app, username: str) -> str:
    """Return the account's current TOTP code, as its phone would show it.

    Each code is accepted once per 30-second step; tests sign in many times a second, so
    this forgets the last step accepted, as if the next step had begun.
    """
    with app.app_context(), db.transaction() as session:
        session.execute(update(StaffUser).where(StaffUser.username == username)
                        .values(totp_last_step=None))
        secret = session.scalar(select(StaffUser.totp_secret)
                                .where(StaffUser.username == username))
    assert secret, f"{username} has no second factor"
    return pyotp.TOTP(secret).now()


def sign_in_in_browser(page, app, username: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form in the browser, and the 6-digit code when the account has one."""
    with app.app_context(), db.session() as session:
        has_code = session.scalar(select(StaffUser.totp_secret)
                                  .where(StaffUser.username == username)) is not None
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.locator("#sign-in").click()
    if has_code:
        page.wait_for_url("**/staff/login/code")
        page.get_by_label("6桁のコード").fill(totp_code(app, username))
        page.locator("#confirm-code").click()


class StaffClient:
    """A test client that carries the CSRF token the way the pages do."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def csrf_token(self) -> str:
        page = self.client.get("/staff/login", follow_redirects=True)
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match, "no csrf-token meta on the page"
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD, **extra):
        """Sign in; when the password is right and a code is asked for, enter the current one."""
        response = self.client.post("/staff/login", data={
            "username": username, "password": password, "csrf_token": self.csrf_token(),
            **extra})
        if response.status_code == 302 and response.headers["Location"] == "/staff/login/code":
            return self.enter_code(totp_code(self.app, username.strip().lower()))
        return response

    def enter_code(self, code: str):
        """Answer the second sign-in step."""
        return self.client.post("/staff/login/code", data={
            "code": code, "csrf_token": self.csrf_token()})

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.csrf_token(), **(data or {})},
                                **kwargs)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def cookie_session(self) -> dict:
        with self.client.session_transaction() as session:
            return dict(session)


@pytest.fixture
def staff_app(app):
    """The app with seed data and one account per role."""
    seed_staff(app)
    return app


@pytest.fixture
def as_admin(staff_app) -> StaffClient:
    client = StaffClient(staff_app)
    assert client.login("admin").status_code == 302
    return client
