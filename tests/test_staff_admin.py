"""Admin pages: accounts, centers, departments, districts, and the audit log they write."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cityhall.db import db
from models.audit import AuditLog, AuditLogIsAppendOnly
from models.center import Center, Department, District
from models.staff import StaffUser
from tests.staff_support import (PASSWORD, StaffClient, as_admin, audit_actions,  # noqa: F401
                                 audit_entries, staff_app)

NEW_PASSWORD = "a long new passphrase"


def one(app, model, **where):
    with app.app_context(), db.session() as session:
        query = select(model).filter_by(**where)
        row = session.scalars(query).first()
        if row is not None and isinstance(row, StaffUser):
            _ = row.centers, row.departments  # load before the session closes
        return row


def hours_form(**overrides) -> dict[str, str]:
    data = {"code": "north", "name_ja": "北子育て支援センター", "name_en": "North Center",
            "address": "古井町7-8", "district": "furui", "checkin_mode": "kiosk", "active": "y",
            "closed_days": "2026-12-29\n2026-12-30\n"}
    for day in ("mon", "tue", "wed", "thu", "fri"):
        data[f"{day}_opens"], data[f"{day}_closes"] = "09:30", "17:00"
    data.update(overrides)
    return data


def test_admin_adds_a_center_with_hours_and_it_is_audited(as_admin, staff_app):
    response = as_admin.post("/staff/admin/centers/new", data=hours_form())
    assert response.status_code == 302
    center = one(staff_app, Center, code="north")
    assert center.name_ja == "北子育て支援センター" and center.checkin_mode == "kiosk"
    assert center.hours_on("mon") == ("09:30", "17:00") and center.hours_on("sun") is None
    assert center.closed_days == ["2026-12-29", "2026-12-30"]
    [entry] = audit_entries(staff_app, "center.create")
    assert entry.username == "admin" and entry.target == "center:north"
    assert entry.remote_addr == "127.0.0.1" and entry.detail["name_en"] == "North Center"


@pytest.mark.parametrize("overrides, message", [
    ({"code": "North!"}, "コードは半角小文字"),
    ({"code": "central"}, "コード central はすでに使われています。"),
    ({"name_ja": ""}, "日本語の名称を入力してください。"),
    ({"mon_closes": ""}, "開館・閉館の両方を入力してください"),
    ({"tue_opens": "18:00"}, "閉館時刻は開館時刻より後にしてください。"),
    ({"wed_opens": "25:99"}, "無効な時間型です。"),
    ({"closed_days": "2026-12-29\nnext friday"}, "2 行目が日付"),
    ({"district": "atlantis"}, "選択肢が正しくありません。"),
])
def test_bad_center_input_is_refused_with_a_clear_message(as_admin, staff_app, overrides,
                                                          message):
    response = as_admin.post("/staff/admin/centers/new", data=hours_form(**overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert one(staff_app, Center, code="north") is None


def test_admin_edits_a_center_and_the_change_is_audited(as_admin, staff_app):
    data = hours_form(code="ignored", name_en="Central Child Support Center (main)",
                      district="ota", checkin_mode="poster")
    del data["active"]
    assert as_admin.post("/staff/admin/centers/central", data=data).status_code == 302
    center = one(staff_app, Center, code="central")
    assert center.name_en.endswith("(main)") and not center.active
    [entry] = audit_entries(staff_app, "center.update")
    assert entry.detail["active"] == [True, False]
    assert entry.detail["name_en"] == ["Central Child Support Center",
                                       "Central Child Support Center (main)"]


def test_center_edit_form_shows_the_stored_hours(as_admin):
    html = as_admin.get("/staff/admin/centers/central").get_data(as_text=True)
    assert 'value="09:00"' in html and 'value="16:00"' in html


def test_a_center_closing_at_midnight_is_edited_and_keeps_24_00(as_admin, staff_app):
    """"24:00" is a stored closing time (the check-in services read it); the page was a 500."""
    with staff_app.app_context(), db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        center.opening_hours = {**center.opening_hours, "fri": ["10:00", "24:00"],
                                "sat": ["00:00", "24:00"]}
    page = as_admin.get("/staff/admin/centers/central")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name, value in (("fri_opens", "10:00"), ("fri_closes", "00:00"),
                        ("sat_opens", "00:00"), ("sat_closes", "00:00")):
        assert re.search(f'name="{name}"[^>]*value="{value}"', html), name
    assert "閉館時刻の 00:00 は、その日の終わり（24 時）を表します。" in html
    data = hours_form(fri_opens="10:00", fri_closes="00:00", sat_opens="00:00",
                      sat_closes="00:00")
    assert as_admin.post("/staff/admin/centers/central", data=data).status_code == 302
    center = one(staff_app, Center, code="central")
    assert center.hours_on("fri") == ("10:00", "24:00")
    assert center.hours_on("sat") == ("00:00", "24:00")
    assert center.hours_on("mon") == ("09:30", "17:00")


def test_an_unreadable_stored_time_shows_empty_and_is_asked_again(as_admin, staff_app):
    with staff_app.app_context(), db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        center.opening_hours = {**center.opening_hours, "fri": ["10:00", "25:61"]}
    page = as_admin.get("/staff/admin/centers/central")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'name="fri_closes"[^>]*value=""', html)
    assert re.search(r'name="fri_opens"[^>]*value="10:00"', html)
    response = as_admin.post("/staff/admin/centers/central",
                             data=hours_form(fri_opens="10:00", fri_closes=""))
    assert "開館・閉館の両方を入力してください" in response.get_data(as_text=True)
    assert one(staff_app, Center, code="central").hours_on("fri") == ("10:00", "25:61")


def test_departments_and_districts_are_managed_and_audited(as_admin, staff_app):
    assert as_admin.post("/staff/admin/departments/new", data={
        "code": "welfare", "name_ja": "福祉課", "name_en": "Welfare", "active": "y"}
    ).status_code == 302
    assert as_admin.post("/staff/admin/departments/roads", data={
        "name_ja": "土木課", "name_en": "Roads Division"}).status_code == 302
    assert as_admin.post("/staff/admin/districts/new", data={
        "code": "newtown", "name_ja": "新町", "name_en": "Newtown"}).status_code == 302
    assert as_admin.post("/staff/admin/districts/ota", data={
        "name_ja": "太田町", "name_en": "Ota"}).status_code == 302
    assert one(staff_app, Department, code="welfare").name_ja == "福祉課"
    assert one(staff_app, Department, code="roads").active is False
    assert one(staff_app, District, code="ota").name_ja == "太田町"
    actions = audit_actions(staff_app)
    for action in ("department.create", "department.update", "district.create",
                   "district.update"):
        assert action in actions


def test_unknown_district_is_404(as_admin):
    assert as_admin.get("/staff/admin/districts/atlantis").status_code == 404


def test_admin_adds_an_account_who_can_then_sign_in(as_admin, staff_app):
    response = as_admin.post("/staff/admin/users/new", data={
        "username": "Sato.Hanako", "display_name": "佐藤 花子", "role": "center",
        "centers": ["central", "east"], "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    user = one(staff_app, StaffUser, username="sato.hanako")
    assert [c.code for c in user.centers] == ["central", "east"]
    [entry] = audit_entries(staff_app, "staff_user.create")
    assert entry.detail == {"role": "center", "centers": ["central", "east"], "departments": []}
    assert NEW_PASSWORD not in str(entry.detail)
    assert StaffClient(staff_app).login("sato.hanako", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("overrides, message", [
    ({"username": "admin"}, "ユーザー名 admin はすでに使われています。"),
    ({"username": "a b"}, "ユーザー名は半角英数字"),
    ({"centers": []}, "センター職員には1つ以上のセンターを選んでください。"),
    ({"role": "department"}, "部署職員には1つ以上の部署を選んでください。"),
    ({"role": "boss"}, "選択肢が正しくありません。"),
    ({"new_password": "short", "confirm": "short"}, "パスワードは 12 文字以上にしてください。"),
    ({"confirm": "something else"}, "2つのパスワードが一致しません。"),
])
def test_bad_account_input_is_refused_with_a_clear_message(as_admin, staff_app, overrides,
                                                           message):
    data = {"username": "tanaka", "role": "center", "centers": ["central"],
            "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **overrides}
    response = as_admin.post("/staff/admin/users/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert one(staff_app, StaffUser, username="tanaka") is None


def test_rescoping_and_disabling_an_account_ends_its_sessions(as_admin, staff_app):
    center_staff = StaffClient(staff_app)
    center_staff.login("central")
    user_id = one(staff_app, StaffUser, username="central").id
    response = as_admin.post(f"/staff/admin/users/{user_id}", data={
        "role": "center", "centers": ["east"], "disabled": "y", "display_name": "Central"})
    assert response.status_code == 302
    assert center_staff.get("/staff/").status_code == 302
    user = one(staff_app, StaffUser, username="central")
    assert user.disabled and [c.code for c in user.centers] == ["east"]
    [entry] = audit_entries(staff_app, "staff_user.update")
    assert entry.detail["centers"] == [["central"], ["east"]]
    assert entry.detail["disabled"] == [False, True]


def test_admin_cannot_lock_themselves_out(as_admin, staff_app):
    user_id = one(staff_app, StaffUser, username="admin").id
    response = as_admin.post(f"/staff/admin/users/{user_id}", data={"role": "admin",
                                                                      "disabled": "y"})
    assert "自分のアカウントを無効にしたり" in response.get_data(as_text=True)
    assert one(staff_app, StaffUser, username="admin").disabled is False


def test_password_reset_signs_the_account_out_and_is_audited(as_admin, staff_app):
    other = StaffClient(staff_app)
    other.login("roads")
    user_id = one(staff_app, StaffUser, username="roads").id
    response = as_admin.post(f"/staff/admin/users/{user_id}/password", data={
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert other.get("/staff/").status_code == 302
    assert StaffClient(staff_app).login("roads", NEW_PASSWORD).status_code == 302
    assert StaffClient(staff_app).login("roads", PASSWORD).status_code == 401
    assert [e.target for e in audit_entries(staff_app, "staff_user.password_reset")] == [
        "staff:roads"]


def test_password_reset_says_what_is_wrong(as_admin, staff_app):
    user_id = one(staff_app, StaffUser, username="roads").id
    response = as_admin.post(f"/staff/admin/users/{user_id}/password", data={
        "new_password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert "パスワードは 12 文字以上にしてください。" in response.get_data(as_text=True)


def test_unknown_account_is_404(as_admin):
    assert as_admin.get("/staff/admin/users/99999").status_code == 404


def test_audit_log_page_filters_and_its_reading_is_audited(as_admin, staff_app):
    StaffClient(staff_app).login("admin", "wrong-wrong-wrong")
    page = as_admin.get("/staff/admin/audit?action=auth.login_failed").get_data(as_text=True)
    assert "username:admin" in page and "auth.logout" not in page
    [entry] = audit_entries(staff_app, "audit.view")
    assert entry.detail == {"action": "auth.login_failed"}


def test_audit_log_page_names_bad_dates_and_ignores_them(as_admin):
    response = as_admin.get("/staff/admin/audit?since=yesterday")
    assert response.status_code == 400 and "無効な日付型です。" in response.get_data(
        as_text=True)
    response = as_admin.get("/staff/admin/audit?until=9999-12-31")
    assert response.status_code == 400 and "1900-01-01" in response.get_data(as_text=True)


def test_audit_export_is_a_no_store_csv_and_is_audited(as_admin, staff_app):
    response = as_admin.get("/staff/admin/audit.csv?action=auth.login")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment")
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,at_utc,username,action") and ",auth.login," in lines[1]
    assert "audit.export" in audit_actions(staff_app)


def test_audit_log_cannot_be_changed_or_deleted(as_admin, staff_app):
    with staff_app.app_context(), db.session() as session:
        entry = session.scalars(select(AuditLog)).first()
        entry.action = "nothing.happened"
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(AuditLog)).first())
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()


def test_the_database_refuses_audit_changes_too(as_admin, staff_app):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with staff_app.app_context():
        for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
                session.execute(text(statement))
