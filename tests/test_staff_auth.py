"""Sign-in, sign-out, sessions, lock-out, CSRF and the security headers of the staff web."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cityhall.db import db
from models.base import utcnow
from models.audit import AuditLog
from models.staff import SignInThrottle, StaffRole, StaffSession
from staff.auth import token_hash, username_target
from staff.jobs import prune_staff_sign_ins
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
    [failed] = audit_entries(staff_app, "auth.login_failed")
    name = username.strip().lower()
    with staff_app.test_request_context():
        # An unknown name may be a password typed in the wrong box: kept only as a keyed hash.
        expected = f"username:{name}" if name == "admin" else username_target(name, None)
    assert failed.target == expected and failed.target != "username:nobody"


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


THROTTLED = "ログインの失敗が多すぎます"


@pytest.fixture(autouse=True)
def first_wait_longer_than_a_test_step(staff_app):
    """Waits of 1 s could run out between two requests on a busy machine."""
    staff_app.config["STAFF_THROTTLE_FIRST_SECONDS"] = 30


def _wait_out(app) -> None:
    """Move every throttle into the past, as if the user had waited as long as asked."""
    with app.app_context(), db.transaction() as session:
        session.execute(update(SignInThrottle).values(
            next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_after_the_free_failures_each_attempt_waits_a_growing_delay(staff_app):
    staff_app.config.update(STAFF_ACCOUNT_FREE_FAILURES=3, STAFF_THROTTLE_FIRST_SECONDS=10)
    client = StaffClient(staff_app)
    for _ in range(3):
        assert client.login("central", "not the password!").status_code == 401
    waits = []
    for _ in range(3):
        response = client.login("central")  # even the right password waits its turn
        assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
        waits.append(int(response.headers["Retry-After"]))
        _wait_out(staff_app)
        assert client.login("central", "not the password!").status_code == 401
    # Doubling; Retry-After counts from the failure, so a slow machine may show a second less.
    assert [10 - 3 < waits[0] <= 10, 20 - 3 < waits[1] <= 20, 40 - 3 < waits[2] <= 40] == [
        True] * 3, waits
    assert "auth.login_locked" not in audit_actions(staff_app)
    # Throttling is per account: another account from the same address still signs in.
    assert StaffClient(staff_app).login("admin").status_code == 302


def test_the_right_password_signs_in_once_the_wait_is_over(staff_app):
    staff_app.config["STAFF_ACCOUNT_FREE_FAILURES"] = 2
    client = StaffClient(staff_app)
    for _ in range(2):
        client.login("central", "not the password!")
    assert client.login("central").status_code == 429
    _wait_out(staff_app)
    assert client.login("central").status_code == 302


def test_the_delay_is_capped(staff_app):
    staff_app.config.update(STAFF_ACCOUNT_FREE_FAILURES=1, STAFF_THROTTLE_MAX_SECONDS=5)
    client = StaffClient(staff_app)
    for _ in range(6):
        _wait_out(staff_app)
        client.login("central", "not the password!")
    response = client.login("central")
    assert response.status_code == 429 and 2 < int(response.headers["Retry-After"]) <= 5


def test_someone_elses_failures_do_not_keep_the_owner_out(staff_app):
    staff_app.config["STAFF_ACCOUNT_FREE_FAILURES"] = 3
    attacker = StaffClient(staff_app)
    attacker.client.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    for _ in range(10):
        attacker.login("central", "guess-guess-guess")
    assert attacker.login("central").status_code == 429
    owner = StaffClient(staff_app)
    owner.client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert owner.login("central").status_code == 302


def test_unknown_usernames_are_throttled_too_so_throttling_reveals_nothing(staff_app):
    staff_app.config["STAFF_ACCOUNT_FREE_FAILURES"] = 2
    client = StaffClient(staff_app)
    for _ in range(2):
        client.login("nobody", "whatever-password")
    response = client.login("nobody")
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)


def test_one_address_is_limited_across_accounts(staff_app):
    staff_app.config["STAFF_ADDRESS_FREE_FAILURES"] = 4
    client = StaffClient(staff_app)
    for name in ("a1", "a2", "a3", "a4"):
        client.login(name, "guess-guess-guess")
    assert client.login("admin").status_code == 429
    elsewhere = StaffClient(staff_app)
    elsewhere.client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert elsewhere.login("admin").status_code == 302


def test_what_was_typed_as_a_username_is_never_stored(staff_app):
    typed = "my-secret-passw0rd typed in the wrong box"
    StaffClient(staff_app).login(typed, "whatever-password")
    with staff_app.app_context(), db.session() as session:
        rows = list(session.scalars(select(SignInThrottle)))
        [entry] = session.scalars(select(AuditLog).where(AuditLog.action == "auth.login_failed"))
        dumped = [str(v) for v in session.execute(select(AuditLog.__table__)).all()]
    assert len(rows) == 3 and all(re.fullmatch(r"[0-9a-f]{64}", r.key) for r in rows)
    assert re.fullmatch(r"username-hash:[0-9a-f]{64}", entry.target)
    assert not any("secret" in line for line in dumped)
    with staff_app.test_request_context():
        assert entry.target == username_target(typed.lower(), None)


def test_failures_are_counted_in_the_database_for_every_worker(staff_app):
    StaffClient(staff_app).login("admin", "wrong-wrong-wrong")
    with staff_app.app_context(), db.session() as session:
        failures = sorted(session.scalars(select(SignInThrottle.failures)))
    assert failures == [1, 1, 1]  # the address, the account, the account from this address


def test_success_clears_the_account_failures(staff_app):
    client = StaffClient(staff_app)
    client.login("central", "wrong-wrong-wrong")
    client.login("central")
    with staff_app.app_context(), db.session() as session:
        [address] = session.scalars(select(SignInThrottle))
    assert address.failures == 1  # the wrong password stays counted against the address


def test_counters_forget_a_quiet_day(staff_app):
    staff_app.config["STAFF_ACCOUNT_FREE_FAILURES"] = 2
    client = StaffClient(staff_app)
    for _ in range(2):
        client.login("central", "wrong-wrong-wrong")
    _wait_out(staff_app)
    with staff_app.app_context(), db.transaction() as session:
        session.execute(update(SignInThrottle).values(
            last_failure_at=utcnow() - timedelta(hours=25)))
    assert client.login("central", "wrong-wrong-wrong").status_code == 401
    assert client.login("central").status_code == 302  # one failure only: no wait
    with staff_app.app_context(), db.transaction() as session:
        assert prune_staff_sign_ins(session, utcnow() + timedelta(hours=25)) == 1


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
