"""Check-in in the staff web: roster and its JSON, check-out and check-in by hand (audited),
poster download and reissue, the kiosk's rotating code, the roster refreshing in a browser."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from checkin import services, tokens
from cityhall.city import current_city
from cityhall.db import db
from models import Center, OutboxMessage, utcnow
from models import Resident as ResidentRow
from models.household import Child, Household
from models.visit import Visit, VisitChild
from tests.chat import Resident
from tests.checkin_support import family, local_today, open_all_day, scan_text, visits
from tests.staff_support import StaffClient, audit_entries, staff_app  # noqa: F401
from tests.test_applications import drain

ROSTER = "/staff/checkin/central/"


@pytest.fixture
def center_staff(staff_app) -> StaffClient:
    open_all_day(staff_app)
    client = StaffClient(staff_app)
    assert client.login("central").status_code == 302
    return client


def test_roster_shows_guardian_children_ages_and_since(live_app, center_staff, staff_app, line):
    person = Resident(line)
    family(staff_app, [person.user_id], children=2)
    person.say(scan_text(staff_app))
    person.tap("子ども全員")
    page = center_staff.get(ROSTER).get_data(as_text=True)
    assert "保護者1" in page and "子ども1" in page and "子ども2" in page
    assert re.search(r"子ども1 \(4歳\d+か月\)", page) and re.search(r"子ども2 \(2歳\d+か月\)", page)
    with staff_app.test_request_context(headers={"Accept-Language": "ja"}):
        from checkin.staff_views import age_label
        assert (age_label(5), age_label(27)) == ("5か月", "2歳3か月")
    data = center_staff.get("/staff/api/checkin/central/roster").get_json()
    assert data["count"] == 1 and data["visits"][0]["guardian"] == "保護者1"
    assert [c["name"] for c in data["visits"][0]["children"]] == ["子ども1", "子ども2"]
    assert data["summary"].startswith("利用中：1組・子ども2人")
    [entry] = audit_entries(staff_app, "roster.view")  # the JSON refresh shares the page's entry
    assert entry.target == "center:central" and entry.detail == {"via": "page", "rows": 1}


def test_roster_json_alone_is_audited_and_its_polls_share_one_entry(center_staff, staff_app,
                                                                   monkeypatch):
    api = "/staff/api/checkin/central/roster"
    assert center_staff.get(api).status_code == 200
    assert center_staff.get(api).status_code == 200
    [entry] = audit_entries(staff_app, "roster.view")
    assert (entry.username, entry.target, entry.detail) == ("central", "center:central",
                                                            {"via": "api", "rows": 0})
    later = utcnow() + timedelta(minutes=6)  # the log is append-only: move the clock instead
    monkeypatch.setattr("staff.audit.utcnow", lambda: later)
    assert center_staff.get(api).status_code == 200
    assert len(audit_entries(staff_app, "roster.view")) == 2
    assert center_staff.get("/staff/api/checkin/east/roster").status_code == 404
    assert len(audit_entries(staff_app, "roster.view")) == 2


def test_other_centers_rosters_are_404_for_center_staff(center_staff):
    assert center_staff.get("/staff/checkin/east/").status_code == 404
    assert center_staff.get("/staff/api/checkin/east/roster").status_code == 404
    page = center_staff.get("/staff/checkin/").get_data(as_text=True)
    assert "中央子育て支援センター" in page and "東子育て支援センター" not in page


def test_manual_check_out_is_audited_and_happens_once(live_app, center_staff, staff_app, line):
    person = Resident(line)
    household = family(staff_app, [person.user_id])
    person.say(scan_text(staff_app))
    [visit] = visits(staff_app, household)
    path = f"/staff/checkin/central/visits/{visit['id']}/checkout"
    assert center_staff.post(path).status_code == 302
    assert center_staff.post(path).status_code == 302  # a second click changes nothing
    assert visits(staff_app, household)[0]["how"] == "staff"
    [entry] = audit_entries(staff_app, "visit.checkout")
    assert entry.target == f"visit:{visit['id']}" and entry.username == "central"
    assert center_staff.get("/staff/api/checkin/central/roster").get_json()["count"] == 0
    drain(staff_app)
    told = [t for t in person.texts() if "手入力でチェックアウト" in t]
    assert len(told) == 1  # the second click pushed nothing
    assert re.fullmatch(r"中央子育て支援センターのスタッフが\d\d:\d\dに手入力でチェックアウトしました："
                        r"子ども1。滞在時間は\d+分でした。\nお心当たりがない場合は、センターにお知らせください。",
                        told[0]), told[0]
    assert outbox_sources(staff_app) == [f"staff-checkout:{visit['id']}"]


def outbox_sources(app) -> list[str]:
    with app.app_context(), db.transaction() as session:
        return [s for s in session.scalars(select(OutboxMessage.source).order_by(OutboxMessage.id))
                if s and s.startswith("staff-checkout:")]


def test_manual_check_out_tells_every_guardian_in_their_language(live_app, center_staff,
                                                                 staff_app, line):
    parent, partner = Resident(line), Resident(line)
    household = family(staff_app, [parent.user_id, partner.user_id], children=2)
    with staff_app.app_context(), db.transaction() as session:
        resident = session.scalars(select(ResidentRow).where(
            ResidentRow.line_user_id == partner.user_id)).one()
        resident.language = "en"
    parent.say(scan_text(staff_app))
    parent.tap("子ども全員")
    [visit] = visits(staff_app, household)
    path = f"/staff/checkin/central/visits/{visit['id']}/checkout"
    assert center_staff.post(path).status_code == 302
    drain(staff_app)
    assert "子ども1、子ども2。滞在時間は" in parent.texts()[-1]
    english = partner.texts()[-1]
    assert english.startswith("The staff of Central Child Support Center checked you out by hand")
    assert "子ども1、子ども2. You stayed " in english and "please tell the center" in english
    # Both pushes are cards: the Japanese one in Japanese, the English one in English.
    assert parent.card_rows()["子ども"] == "子ども1、子ども2" and "滞在時間" in parent.card_rows()
    assert partner.card()["contents"]["header"]["contents"][0]["text"] == "Checked out by the staff"
    assert partner.card_rows()["Center"] == "Central Child Support Center"


def test_manual_check_out_of_a_walk_in_family_pushes_nothing(center_staff, staff_app):
    with staff_app.app_context(), db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        visit_id = services.check_in_walk_in(session, center, "見本", None, [date(2023, 4, 1)],
                                             utcnow(), city=current_city()).id
    path = f"/staff/checkin/central/visits/{visit_id}/checkout"
    assert center_staff.post(path).status_code == 302
    assert outbox_sources(staff_app) == []
    assert [e.target for e in audit_entries(staff_app, "visit.checkout")] == [f"visit:{visit_id}"]


def by_phone(client: StaffClient, phone: str, kana: str):
    return client.post("/staff/checkin/central/checkin",
                       {"phone-phone": phone, "phone-kana": kana, "phone-submit": "1"})


def test_manual_check_in_needs_phone_and_kana_and_tells_the_family(live_app, center_staff,
                                                                   staff_app, line):
    person = Resident(line)
    household = family(staff_app, [person.user_id], children=2)
    person.say(scan_text(staff_app, "east"))
    person.tap("子ども全員")
    # Width, hiragana and spaces are folded: "ﾎ ｺﾞｼｬ" and "ほごしゃ" are the registered ホゴシャ.
    response = by_phone(center_staff, "０９０-１２３４-００００", " ﾎ ｺﾞｼｬ ")
    assert response.status_code == 302
    east, central = visits(staff_app, household)
    assert east["how"] == "moved" and central["method"] == "staff" and len(central["ages"]) == 2
    drain(staff_app)
    told = person.texts()[-1]
    assert "中央子育て支援センターのスタッフが" in told and "子ども1、子ども2" in told
    assert "東子育て支援センターの利用を終了しました。" in told
    again = by_phone(center_staff, "09012340000", "ほごしゃ")
    assert "この家族はすでにチェックインしています。" in again.get_data(as_text=True)
    [entry] = audit_entries(staff_app, "visit.checkin")
    assert entry.detail == {"center": "central", "walk_in": False, "children": 2,
                            "ended_visits": [east["id"]]}
    assert [e.detail["reason"] for e in audit_entries(staff_app, "visit.checkin_refused")] == [
        "already_inside"]


@pytest.mark.parametrize("phone, kana", [
    ("09012340000", "ヤマダ"),        # right phone, wrong name
    ("09099999999", "ホゴシャ"),      # right name, wrong phone
    ("09012340000", "ホゴシャア"),    # almost the name
    ("0000", "ホゴシャ"),
])
def test_manual_check_in_mismatch_changes_nothing_and_shows_no_name(center_staff, staff_app,
                                                                     phone, kana):
    household = family(staff_app, ["Uphoneless"], children=1)
    response = by_phone(center_staff, phone, kana)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "この電話番号とふりがなに一致する登録済みの家族はいません。" in page
    assert "保護者1" not in page and "子ども1" not in page and "太田町" not in page
    assert visits(staff_app, household) == []
    [entry] = audit_entries(staff_app, "visit.checkin_refused")
    assert entry.detail == {"center": "central", "reason": "no_match"}
    assert entry.target == "center:central"


def test_manual_check_in_needs_both_fields(center_staff, staff_app):
    family(staff_app, ["Uphoneless"], children=1)
    page = by_phone(center_staff, "09012340000", "").get_data(as_text=True)
    assert "ふりがなを入力してください。" in page and "保護者1" not in page
    assert visits(staff_app) == []


def test_manual_check_in_of_a_walk_in_family(center_staff, staff_app):
    response = center_staff.post("/staff/checkin/central/checkin", {
        "walkin-name": "鈴木一郎", "walkin-district": "ota", "walkin-birth1": "2024-01-15",
        "walkin-birth2": "", "walkin-birth3": "", "walkin-submit": "1"})
    assert response.status_code == 302
    [visit] = visits(staff_app)
    assert visit["walk_in"] == "鈴木一郎" and visit["district"] == "ota" and len(visit["ages"]) == 1
    page = center_staff.get(ROSTER).get_data(as_text=True)
    assert "鈴木一郎" in page and "LINEなし" in page
    [entry] = audit_entries(staff_app, "visit.checkin")
    assert entry.detail == {"center": "central", "walk_in": True, "children": 1}
    empty = center_staff.post("/staff/checkin/central/checkin", {"walkin-submit": "1"})
    assert "氏名を入力してください。" in empty.get_data(as_text=True)


@pytest.mark.parametrize("field", ["birth1", "birth2"])
def test_walk_in_child_born_after_today_is_refused(center_staff, staff_app, field):
    today = local_today(staff_app)
    born = {"walkin-birth1": "2024-01-15", "walkin-birth2": "", "walkin-birth3": ""}
    born[f"walkin-{field}"] = "2030-01-01"
    response = center_staff.post("/staff/checkin/central/checkin", {
        "walkin-name": "鈴木一郎", "walkin-district": "ota", **born, "walkin-submit": "1"})
    assert response.status_code == 200
    assert (f"生年月日に今日（{today.isoformat()}）より後の日付は入力できません。"
            in response.get_data(as_text=True))
    assert visits(staff_app) == []
    born[f"walkin-{field}"] = today.isoformat()  # born today is fine
    assert center_staff.post("/staff/checkin/central/checkin", {
        "walkin-name": "鈴木一郎", "walkin-district": "ota", **born,
        "walkin-submit": "1"}).status_code == 302


def test_poster_reissue_is_audited_and_changes_the_code(center_staff, staff_app):
    first = center_staff.get("/staff/checkin/central/poster.pdf")
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    assert "checkin-central-v1.pdf" in first.headers["Content-Disposition"]
    assert center_staff.post("/staff/checkin/central/poster/reissue").status_code == 302
    assert "checkin-central-v2.pdf" in center_staff.get(
        "/staff/checkin/central/poster.pdf").headers["Content-Disposition"]
    assert audit_entries(staff_app, "center.poster_reissue")[0].detail == {"version": 2}
    assert "ポスター用コードの版：2" in center_staff.get("/staff/checkin/central/qr").get_data(
        as_text=True)


def test_poster_without_a_japanese_font_says_so_instead_of_failing(center_staff, staff_app,
                                                                    tmp_path):
    staff_app.config["CITYHALL_POSTER_FONT"] = str(tmp_path / "missing.ttf")
    response = center_staff.get("/staff/checkin/central/poster.pdf")
    assert response.status_code == 302 and response.location.endswith("/staff/checkin/central/qr")
    assert "サーバーに日本語フォントがありません" in center_staff.get(
        "/staff/checkin/central/qr").get_data(as_text=True)


def test_kiosk_shows_a_fresh_code_of_this_window(center_staff, staff_app):
    page = center_staff.get("/staff/checkin/central/kiosk").get_data(as_text=True)
    assert 'id="kiosk-qr"' in page and 'data-refresh="60"' in page and "<script>" not in page
    image = center_staff.get("/staff/checkin/central/kiosk.png")
    assert image.mimetype == "image/png"
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("RGB"))
    assert found.text.startswith("https://line.me/R/oaMessage/@cityhall/?")
    from urllib.parse import unquote
    text = unquote(found.text.split("?", 1)[1])
    assert text.startswith("チェックイン C1.central.k")
    with staff_app.app_context():
        assert tokens.verify(text.split(" ", 1)[1], utcnow()).kind == "kiosk"


def test_the_database_refuses_a_second_open_visit_of_a_child(staff_app):
    from sqlalchemy.exc import IntegrityError

    household = family(staff_app, ["Udbcheck"], children=1)
    with staff_app.app_context(), db.session() as session, session.begin():
        child = session.scalars(select(Child).where(Child.household_id == household)).one()
        for _ in range(2):
            session.add(Visit(center_id=1, household_id=household, method="poster",
                              checked_in_at=utcnow(),
                              children=[VisitChild(child_id=child.id, age_months=3)]))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
