"""Staff sign-in under attack: races on the throttle, password strength, the second factor."""

from __future__ import annotations

import re
import threading

import pyotp
import pytest
from sqlalchemy import select, update

from cityhall.db import db
from models.base import utcnow
from models.staff import RecoveryCode, SignInThrottle, StaffRole, StaffUser
from staff import auth, second_factor
from staff.cli import create_staff
from tests.staff_support import (PASSWORD, StaffClient, add_staff, as_admin,  # noqa: F401
                                 audit_actions, audit_entries, staff_app, totp_code)

WRONG_CODE = "コードが違うか、すでに使われています。"
THROTTLED = "ログインの失敗が多すぎます"


def user_row(app, username: str) -> StaffUser:
    with app.app_context(), db.session() as session:
        return session.scalars(select(StaffUser).where(StaffUser.username == username)).one()


def counted_checks(monkeypatch) -> list[str]:
    """Record every password check (real or the timing decoy for unknown names)."""
    checks: list[str] = []
    lock = threading.Lock()
    verify, burn = auth.verify_password, auth.burn_verification_time

    def counting_verify(password_hash, password):
        with lock:
            checks.append(password)
        return verify(password_hash, password)

    def counting_burn(password):
        with lock:
            checks.append(password)
        burn(password)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    monkeypatch.setattr(auth, "burn_verification_time", counting_burn)
    return checks


def burst(app, attempts: list[tuple[str, str]]) -> list[int]:
    """Post every (username, password) sign-in at the same moment; return the statuses."""
    clients = [StaffClient(app) for _ in attempts]
    tokens = [c.csrf_token() for c in clients]
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = [0] * len(attempts)

    def attempt(i: int) -> None:
        username, password = attempts[i]
        barrier.wait()
        statuses[i] = clients[i].client.post("/staff/login", data={
            "username": username, "password": password, "csrf_token": tokens[i]}).status_code

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


# Throttling holds under concurrency (the old count-then-check let 15 of 30 through)


@pytest.fixture
def slow_throttle(staff_app):
    """A first wait longer than any burst takes on a busy machine."""
    staff_app.config["STAFF_THROTTLE_FIRST_SECONDS"] = 120
    return staff_app


def test_thirty_simultaneous_wrong_passwords_get_only_the_free_checks(slow_throttle, staff_app,
                                                                      monkeypatch):
    checks = counted_checks(monkeypatch)
    statuses = burst(staff_app, [("central", f"wrong guess number {i}") for i in range(30)])
    assert sorted(statuses) == [401] * 5 + [429] * 25
    assert len(checks) == 5
    with staff_app.app_context(), db.session() as session:
        rows = list(session.scalars(select(SignInThrottle)))
    # Address, account, and account from this address: 5 each, and a wait set on the gate.
    assert sorted(r.failures for r in rows) == [5, 5, 5]
    assert max(r.next_attempt_at for r in rows) > max(r.last_failure_at for r in rows)


def test_a_burst_on_many_names_from_one_address_stops_at_the_address_limit(slow_throttle,
                                                                            staff_app,
                                                                            monkeypatch):
    staff_app.config["STAFF_ADDRESS_FREE_FAILURES"] = 8
    checks = counted_checks(monkeypatch)
    statuses = burst(staff_app, [(f"guess{i}", "some password") for i in range(20)])
    assert sorted(statuses) == [401] * 8 + [429] * 12 and len(checks) == 8
    with staff_app.app_context(), db.session() as session:
        assert max(session.scalars(select(SignInThrottle.failures))) == 8


def test_a_right_password_in_a_burst_from_elsewhere_still_signs_in(slow_throttle, staff_app):
    attempts = [("central", f"wrong guess {i}") for i in range(15)]
    owner = StaffClient(staff_app)
    owner.client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    token = owner.csrf_token()
    statuses = burst(staff_app, attempts)
    assert sorted(statuses) == [401] * 5 + [429] * 10
    response = owner.client.post("/staff/login", data={
        "username": "central", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


# Passwords


WEAK = "このパスワードは簡単に推測されます。"


@pytest.mark.parametrize("password, message", [
    ("aaaaaaaaaaaa", "「aaa」のような繰り返しは簡単に推測されます。"),
    ("123456789012", WEAK),
    ("passwordpassword", WEAK),
    (" " * 12, "パスワードを空白だけにすることはできません。"),
])
def test_guessable_and_blank_passwords_are_refused_with_the_reason(as_admin, staff_app,
                                                                   password, message):
    user_id = user_row(staff_app, "roads").id
    for path, data in [
        (f"/staff/admin/users/{user_id}/password", {}),
        ("/staff/admin/users/new", {"username": "tanaka", "role": "center",
                                    "centers": ["central"]}),
        ("/staff/account/password", {"current_password": PASSWORD}),
    ]:
        response = as_admin.post(path, data={"new_password": password, "confirm": password,
                                             **data})
        assert message in response.get_data(as_text=True), path
    assert "staff_user.password_reset" not in audit_actions(staff_app)


def test_the_reason_is_said_in_english_too(as_admin):
    as_admin.post("/staff/language", data={"lang": "en"})
    response = as_admin.post("/staff/account/password", data={
        "current_password": PASSWORD, "new_password": "passwordpassword",
        "confirm": "passwordpassword"})
    assert "This password is too easy to guess." in response.get_data(as_text=True)


@pytest.mark.parametrize("password, message", [
    ("123456789012", "This password is too easy to guess."),
    (" " * 12, "The password must not be only spaces."),
])
def test_the_cli_refuses_weak_passwords(staff_app, password, message):
    result = staff_app.test_cli_runner().invoke(create_staff, ["kato", "--role", "admin"],
                                                input=password + "\n")
    assert result.exit_code == 1 and message in result.output


# The second factor


def test_the_cli_prints_an_admins_totp_secret_last_and_it_signs_in(staff_app):
    result = staff_app.test_cli_runner().invoke(create_staff, ["kato", "--role", "admin"],
                                                input="a long enough password\n")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    secret = re.fullmatch(r"totp-secret: ([A-Z2-7]+)", lines[-1]).group(1)
    recovery = lines[-2].split(": ", 1)[1].split()
    assert len(recovery) == 10
    client = StaffClient(staff_app)
    client.client.post("/staff/login", data={"username": "kato",
                                              "password": "a long enough password",
                                              "csrf_token": client.csrf_token()})
    assert client.enter_code(pyotp.TOTP(secret).now()).status_code == 302
    assert client.get("/staff/").status_code == 200
    result = staff_app.test_cli_runner().invoke(
        create_staff, ["sato", "--role", "center", "--center", "central"],
        input="a long enough password\n")
    assert "totp-secret" not in result.output


def _password_step(client: StaffClient, username: str = "admin", next_path: str = ""):
    return client.client.post("/staff/login", data={
        "username": username, "password": PASSWORD, "next": next_path,
        "csrf_token": client.csrf_token()})


def test_admin_signs_in_with_the_password_then_the_code(staff_app):
    client = StaffClient(staff_app)
    response = _password_step(client, next_path="/staff/admin/users")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login/code"
    assert client.get("/staff/").status_code == 302  # not signed in yet
    page = client.get("/staff/login/code").get_data(as_text=True)
    assert 'name="code"' in page and "6桁のコード" in page
    response = client.enter_code(totp_code(staff_app, "admin"))
    assert response.headers["Location"] == "/staff/admin/users"
    assert audit_actions(staff_app)[-1] == "auth.login"


def test_a_wrong_code_is_refused_and_audited(staff_app):
    client = StaffClient(staff_app)
    _password_step(client)
    response = client.enter_code("000000" if totp_code(staff_app, "admin") != "000000"
                                 else "111111")
    assert response.status_code == 401 and WRONG_CODE in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302
    assert "auth.second_factor_failed" in audit_actions(staff_app)


def test_a_code_is_accepted_once(staff_app):
    code = totp_code(staff_app, "admin")
    first = StaffClient(staff_app)
    _password_step(first)
    assert first.enter_code(code).status_code == 302
    again = StaffClient(staff_app)
    _password_step(again)
    response = again.enter_code(code)
    assert response.status_code == 401 and WRONG_CODE in response.get_data(as_text=True)


def test_the_same_code_sent_twice_at_once_signs_in_once(staff_app):
    staff_app.config["STAFF_ACCOUNT_FREE_FAILURES"] = 20  # replay, not throttling, is tested
    code = totp_code(staff_app, "admin")
    clients = [StaffClient(staff_app) for _ in range(4)]
    for client in clients:
        _password_step(client)
    tokens = [c.csrf_token() for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = [0] * len(clients)

    def enter(i: int) -> None:
        barrier.wait()
        statuses[i] = clients[i].client.post("/staff/login/code", data={
            "code": code, "csrf_token": tokens[i]}).status_code

    threads = [threading.Thread(target=enter, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [302, 401, 401, 401]


def test_a_recovery_code_works_once_and_is_stored_hashed(staff_app):
    with staff_app.app_context(), db.transaction() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == "admin")).one()
        codes = second_factor.new_recovery_codes(session, user, utcnow())
    with staff_app.app_context(), db.session() as session:
        stored = list(session.scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)
    client = StaffClient(staff_app)
    _password_step(client)
    assert client.enter_code(codes[3].upper().replace("-", " ")).status_code == 302
    [used] = audit_entries(staff_app, "auth.recovery_code_used")
    assert used.detail == {"left": 9}
    again = StaffClient(staff_app)
    _password_step(again)
    assert again.enter_code(codes[3]).status_code == 401


def test_the_second_step_expires(staff_app):
    client = StaffClient(staff_app)
    _password_step(client)
    with client.client.session_transaction() as session:
        state = dict(session[auth.SECOND_STEP])
        state["since"] -= 6 * 60
        session[auth.SECOND_STEP] = state
    response = client.enter_code(totp_code(staff_app, "admin"))
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert client.get("/staff/").status_code == 302


def test_codes_are_throttled_like_passwords(slow_throttle, staff_app):
    staff_app.config["STAFF_ACCOUNT_FREE_FAILURES"] = 3
    client = StaffClient(staff_app)
    _password_step(client)
    wrong = "000000" if totp_code(staff_app, "admin") != "000000" else "111111"
    statuses = [client.enter_code(wrong).status_code for _ in range(3)]
    # The password step counted as one attempt until the sign-in completes.
    assert statuses == [401, 401, 429]
    response = client.enter_code(totp_code(staff_app, "admin"))
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)


def test_staff_enrol_on_their_page_and_then_sign_in_with_a_code(staff_app):
    client = StaffClient(staff_app)
    client.login("central")
    page = client.get("/staff/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/png;base64,' in page and 'name="code"' in page
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    secret = secret.replace(" ", "")
    assert client.post("/staff/account/two-factor", data={"code": "123"}).status_code == 400
    response = client.post("/staff/account/two-factor",
                           data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert len(re.findall(r"<li><code>[a-z0-9-]{29}</code></li>",
                          response.get_data(as_text=True))) == 10
    assert user_row(staff_app, "central").totp_secret == secret
    client.post("/staff/logout")
    response = client.client.post("/staff/login", data={
        "username": "central", "password": PASSWORD, "csrf_token": client.csrf_token()})
    assert response.headers["Location"] == "/staff/login/code"
    assert client.enter_code(totp_code(staff_app, "central")).status_code == 302
    assert "staff_user.two_factor_enrolled" in audit_actions(staff_app)


def test_staff_may_turn_it_off_with_a_code_but_admins_may_not(staff_app, as_admin):
    with staff_app.app_context(), db.transaction() as session:
        add_staff(session, "kato", StaffRole.CENTER, centers=("central",))
        session.execute(update(StaffUser).where(StaffUser.username == "kato")
                        .values(totp_secret=pyotp.random_base32()))
    client = StaffClient(staff_app)
    assert client.login("kato").status_code == 302
    response = client.post("/staff/account/two-factor/off",
                           data={"off-code": totp_code(staff_app, "kato")})
    assert response.status_code == 302 and user_row(staff_app, "kato").totp_secret is None
    response = as_admin.post("/staff/account/two-factor/off",
                             data={"off-code": totp_code(staff_app, "admin")},
                             follow_redirects=True)
    assert "この役割では二要素認証を解除できません。" in response.get_data(as_text=True)
    assert user_row(staff_app, "admin").totp_secret


def test_new_recovery_codes_need_a_current_code(as_admin, staff_app):
    response = as_admin.post("/staff/account/two-factor/recovery-codes", data={"code": "x"})
    assert response.status_code == 400
    response = as_admin.post("/staff/account/two-factor/recovery-codes",
                             data={"code": totp_code(staff_app, "admin")})
    assert response.status_code == 200 and "recovery-codes" in response.get_data(as_text=True)
    assert "staff_user.recovery_codes_renewed" in audit_actions(staff_app)


def test_admin_resets_another_admins_factor_who_enrols_again_at_sign_in(as_admin, staff_app):
    with staff_app.app_context(), db.transaction() as session:
        add_staff(session, "deputy", StaffRole.ADMIN)
    deputy = StaffClient(staff_app)
    assert deputy.login("deputy").status_code == 302
    user_id = user_row(staff_app, "deputy").id
    response = as_admin.post(f"/staff/admin/users/{user_id}/two-factor/reset")
    assert response.status_code == 302
    assert deputy.get("/staff/").status_code == 302  # signed out everywhere
    [entry] = audit_entries(staff_app, "staff_user.two_factor_reset")
    assert entry.target == "staff:deputy" and entry.username == "admin"
    # At the next sign-in the password alone is not enough: the deputy enrols first.
    _password_step(deputy, "deputy")
    page = deputy.get("/staff/login/code").get_data(as_text=True)
    assert 'src="data:image/png;base64,' in page
    assert deputy.get("/staff/").status_code == 302
    secret = user_row(staff_app, "deputy").totp_pending_secret
    response = deputy.enter_code(pyotp.TOTP(secret).now())
    assert response.status_code == 200 and "recovery-codes" in response.get_data(as_text=True)
    assert deputy.get("/staff/").status_code == 200
    assert user_row(staff_app, "deputy").totp_secret == secret


def test_an_admin_cannot_reset_their_own_factor_from_the_admin_page(as_admin, staff_app):
    user_id = user_row(staff_app, "admin").id
    as_admin.post(f"/staff/admin/users/{user_id}/two-factor/reset")
    assert user_row(staff_app, "admin").totp_secret and as_admin.get("/staff/").status_code == 200


def test_a_reset_non_admin_signs_in_with_the_password_alone(as_admin, staff_app):
    with staff_app.app_context(), db.transaction() as session:
        session.execute(update(StaffUser).where(StaffUser.username == "central")
                        .values(totp_secret=pyotp.random_base32()))
    user_id = user_row(staff_app, "central").id
    assert as_admin.post(f"/staff/admin/users/{user_id}/two-factor/reset").status_code == 302
    response = _password_step(StaffClient(staff_app), "central")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"


def test_promotion_to_admin_ends_sessions_until_a_factor_is_set_up(as_admin, staff_app):
    central = StaffClient(staff_app)
    central.login("central")
    user_id = user_row(staff_app, "central").id
    assert as_admin.post(f"/staff/admin/users/{user_id}", data={
        "role": "admin", "display_name": "Central"}).status_code == 302
    assert central.get("/staff/").status_code == 302
    _password_step(central, "central")
    assert 'src="data:image/png;base64,' in central.get("/staff/login/code").get_data(
        as_text=True)


def test_a_city_can_require_the_second_factor_of_every_role(staff_app):
    staff_app.config["STAFF_SECOND_FACTOR_ROLES"] = frozenset({"admin", "center", "department"})
    client = StaffClient(staff_app)
    assert _password_step(client, "central").headers["Location"] == "/staff/login/code"
    assert 'src="data:image/png;base64,' in client.get("/staff/login/code").get_data(
        as_text=True)
    result = staff_app.test_cli_runner().invoke(
        create_staff, ["sato", "--role", "department", "--department", "roads"],
        input="a long enough password\n")
    assert result.output.strip().splitlines()[-1].startswith("totp-secret: ")


def test_an_unknown_role_in_the_setting_is_refused():
    from staff.settings import role_list

    assert role_list(" admin, center ") == {"admin", "center"}
    with pytest.raises(ValueError, match="admins"):
        role_list("admins")
