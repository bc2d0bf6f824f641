"""Sign-in, sign-out, sessions, lock-out, CSRF and the security headers of the staff web."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cityhall.db import db
from models.base import utcnow
from models.staff import LoginFailure, StaffRole, StaffSession
from staff.auth import token_hash
from tests.staff_support import (PASSWORD, StaffClient, add_staff, as_admin,  # noqa: F401
                                 audit_actions, audit_entries, staff_app)

WRONG = "ユーザー名またはパスワードが違います。"


def test_sign_in_sends_home_and_sign_out_ends_the_session(staff_app):
    client = StaffClient(staff_app)
    response = client.login("admin")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert client.post("/staff/logout").status_code == 302
    assert client.get("/staff/").status_code == 302
    assert audit_actions(staff_app)[-2:] == ["auth.login", "auth.logout"]


@pytest.mark.parametrize("username, password", [
    ("admin", "wrong password here"),
    ("nobody", PASSWORD),
    ("ADMIN ", "wrong password here"),
])
def test_failed_sign_in_says_the_same_thing_whatever_was_wrong(staff_app, username, password):
    response = StaffClient(staff_app).login(username, password)
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    failed = audit_entries(staff_app, "auth.login_failed")
    assert [e.target for e in failed] == [f"username:{username.strip().lower()}"]


def test_disabled_account_cannot_sign_in(staff_app):
    with staff_app.app_context(), db.transaction() as session:
        add_staff(session, "gone", StaffRole.ADMIN, disabled=True)
    response = StaffClient(staff_app).login("gone")
    assert response.status_code == 401 and WRONG in response.get_data(as_text=True)


@pytest.mark.parametrize("username, password, message", [
    ("", PASSWORD, "ユーザー名を入力してください。"),
    ("admin", "", "パスワードを入力してください。"),
])
def test_empty_fields_are_named(staff_app, username, password, message):
    response = StaffClient(staff_app).login(username, password)
    assert response.status_code == 200 and message in response.get_data(as_text=True)


def test_session_is_rotated_at_sign_in(staff_app):
    client = StaffClient(staff_app)
    client.csrf_token()
    with client.client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["lang"] = "en"
    before = client.cookie_session()
    client.login("admin")
    after = client.cookie_session()
    # Nothing planted before sign-in survives it (the CSRF token neither); the language does.
    assert "planted" not in after and after["lang"] == "en"
    assert before["csrf_token"] != after.get("csrf_token")
    client.post("/staff/logout")
    client.login("admin")
    assert client.cookie_session()["_user_id"] != after["_user_id"]


def test_a_cookie_replayed_after_sign_out_is_refused(staff_app):
    client = StaffClient(staff_app)
    client.login("admin")
    stolen = client.cookie_session()
    client.post("/staff/logout")
    thief = StaffClient(staff_app)
    with thief.client.session_transaction() as session:
        session.update(stolen)
    assert thief.get("/staff/").status_code == 302


def test_only_a_hash_of_the_session_token_is_stored(staff_app):
    client = StaffClient(staff_app)
    client.login("admin")
    token = client.cookie_session()["_user_id"]
    with staff_app.app_context(), db.session() as session:
        keys = list(session.scalars(select(StaffSession.token_hash)))
    assert keys == [token_hash(token)] and token not in keys


def _age_sessions(app, **delta) -> None:
    """Move every session into the past, as if the user had been away for `delta`."""
    with app.app_context(), db.transaction() as session:
        for row in session.scalars(select(StaffSession)):
            row.last_seen_at -= timedelta(**delta)
            row.created_at -= timedelta(**delta)


def test_idle_session_times_out(staff_app):
    staff_app.config["STAFF_IDLE_MINUTES"] = 30
    client = StaffClient(staff_app)
    client.login("admin")
    _age_sessions(staff_app, minutes=29)
    assert client.get("/staff/").status_code == 200  # a request counts as activity
    _age_sessions(staff_app, minutes=31)
    response = client.get("/staff/", follow_redirects=True)
    assert "セッションが終了しました" in response.get_data(as_text=True)
    assert client.get("/staff/api/me").status_code == 401


def test_session_has_an_absolute_lifetime_despite_activity(staff_app):
    staff_app.config["STAFF_SESSION_HOURS"] = 12
    client = StaffClient(staff_app)
    client.login("admin")
    with staff_app.app_context(), db.transaction() as session:
        session.execute(update(StaffSession).values(created_at=utcnow() - timedelta(hours=13)))
    assert client.get("/staff/").status_code == 302


def test_account_is_locked_after_repeated_failures_even_with_the_right_password(staff_app):
    staff_app.config["STAFF_LOCKOUT_FAILURES"] = 3
    client = StaffClient(staff_app)
    for _ in range(3):
        assert client.login("central", "not the password!").status_code == 401
    response = client.login("central")
    assert response.status_code == 401
    assert "ログインの失敗が多すぎます" in response.get_data(as_text=True)
    assert "auth.login_locked" in audit_actions(staff_app)
    # The lock is per account: another account from the same address still signs in.
    assert StaffClient(staff_app).login("admin").status_code == 302


def test_lock_ends_after_the_lockout_period(staff_app):
    staff_app.config["STAFF_LOCKOUT_FAILURES"] = 2
    client = StaffClient(staff_app)
    for _ in range(2):
        client.login("central", "not the password!")
    with staff_app.app_context(), db.transaction() as session:
        session.execute(update(LoginFailure).values(at=utcnow() - timedelta(minutes=16)))
    assert client.login("central").status_code == 302


def test_unknown_usernames_lock_too_so_lockout_reveals_nothing(staff_app):
    staff_app.config["STAFF_LOCKOUT_FAILURES"] = 2
    client = StaffClient(staff_app)
    for _ in range(2):
        client.login("nobody", "whatever-password")
    assert "ログインの失敗が多すぎます" in client.login("nobody").get_data(as_text=True)


def test_one_address_is_limited_across_accounts(staff_app):
    staff_app.config["STAFF_ADDRESS_FAILURES"] = 4
    client = StaffClient(staff_app)
    for name in ("a1", "a2", "a3", "a4"):
        client.login(name, "guess-guess-guess")
    assert client.login("admin").status_code == 401
    elsewhere = StaffClient(staff_app)
    elsewhere.client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert elsewhere.login("admin").status_code == 302


def test_failures_are_stored_in_the_database_for_every_worker(staff_app):
    StaffClient(staff_app).login("admin", "wrong-wrong-wrong")
    with staff_app.app_context(), db.session() as session:
        rows = list(session.scalars(select(LoginFailure)))
    assert [(r.username, r.remote_addr) for r in rows] == [("admin", "127.0.0.1")]


def test_success_clears_the_account_failures(staff_app):
    client = StaffClient(staff_app)
    client.login("admin", "wrong-wrong-wrong")
    client.login("admin")
    with staff_app.app_context(), db.session() as session:
        assert list(session.scalars(select(LoginFailure))) == []


@pytest.mark.parametrize("target, expected", [
    ("/staff/admin/users", "/staff/admin/users"),
    ("https://evil.example/staff/", "/staff/"),
    ("//evil.example/staff", "/staff/"),
    ("/callback", "/staff/"),
])
def test_next_only_leads_to_staff_pages_here(staff_app, target, expected):
    response = StaffClient(staff_app).login("admin", next=target)
    assert response.headers["Location"] == expected


def test_post_without_csrf_token_is_refused(staff_app):
    client = StaffClient(staff_app)
    response = client.client.post("/staff/login", data={"username": "admin",
                                                         "password": PASSWORD})
    assert response.status_code == 400
    assert "フォームの有効期限が切れました" in response.get_data(as_text=True)
    client.login("admin")
    assert client.client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200  # still signed in
    response = client.client.post("/staff/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400


def test_json_requests_carry_the_token_in_a_header(staff_app):
    client = StaffClient(staff_app)
    client.login("admin")
    token = client.csrf_token()
    assert client.client.post("/staff/logout", headers={"X-CSRFToken": token}).status_code == 302


def test_webhook_is_exempt_from_csrf(staff_app):
    response = staff_app.test_client().post("/callback", data=b'{"events": []}')
    assert response.status_code == 400  # refused for its missing signature, not for CSRF
    assert response.get_json() == {"message": "invalid signature"}


def test_staff_pages_carry_security_headers(as_admin):
    for path in ("/staff/login", "/staff/", "/staff/api/me", "/staff/admin/audit.csv"):
        headers = as_admin.get(path).headers
        assert headers["Cache-Control"] == "no-store", path
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
    with as_admin.get("/staff/static/staff.css") as response:
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_pages_have_no_inline_script_and_no_external_assets(as_admin):
    for path in ("/staff/login", "/staff/", "/staff/admin/centers/new", "/staff/admin/audit"):
        html = as_admin.get(path).get_data(as_text=True)
        assert "<script>" not in html and " on" + "click=" not in html and "style=" not in html
        assert "http://" not in html and "https://" not in html, path


def test_session_cookie_is_httponly_and_lax(staff_app):
    client = StaffClient(staff_app)
    response = client.login("admin")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_language_switch_is_kept_in_the_session(staff_app):
    client = StaffClient(staff_app)
    client.post("/staff/language", data={"lang": "en", "next": "/staff/login"})
    assert "Sign in" in client.get("/staff/login").get_data(as_text=True)
    client.post("/staff/language", data={"lang": "xx"})
    assert client.cookie_session()["lang"] == "en"


def test_own_password_change_keeps_this_session_and_ends_the_others(staff_app):
    phone, desk = StaffClient(staff_app), StaffClient(staff_app)
    phone.login("admin")
    desk.login("admin")
    response = desk.post("/staff/account/password", data={
        "current_password": PASSWORD, "new_password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    assert desk.get("/staff/").status_code == 200
    assert phone.get("/staff/").status_code == 302
    assert "staff_user.password_changed" in audit_actions(staff_app)


@pytest.mark.parametrize("current, new, confirm, message", [
    ("wrong-current-password", "a brand new passphrase", "a brand new passphrase",
     "現在のパスワードが違います。"),
    (PASSWORD, "short", "short", "パスワードは 12 文字以上にしてください。"),
    (PASSWORD, "a brand new passphrase", "another passphrase", "2つのパスワードが一致しません。"),
    (PASSWORD, "admin is my passphrase", "admin is my passphrase",
     "パスワードにユーザー名を含めないでください。"),
])
def test_own_password_change_says_what_is_wrong(as_admin, current, new, confirm, message):
    response = as_admin.post("/staff/account/password", data={
        "current_password": current, "new_password": new, "confirm": confirm})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
