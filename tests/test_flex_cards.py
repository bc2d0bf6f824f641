"""The bot's Flex cards through the emulator: check-in and check-out (scanned from the scan
menu, a kiosk code included, over real HTTP), My data, an application's receipt, and a form's
summary whose Change buttons jump to one answer."""

from __future__ import annotations

import re
from datetime import timedelta

from bot import flex
from cityhall.cli import main
from models import utcnow
from models.center import CheckinMode
from tests.chat import Resident
from tests.checkin_support import (family, kiosk_text, open_all_day, set_mode, shift_visits,
                                   visits)
from tests.flows_helpers import register, seed_city, submissions
from tests.test_applications import childcare


def city_for(app) -> None:
    seed_city(app)
    open_all_day(app)


def assert_a_card_within_limits(message: dict) -> None:
    assert message["type"] == "flex" and 1 <= len(message["altText"]) <= flex.ALT_TEXT_LIMIT
    assert all(len(a["label"]) <= flex.LABEL_LIMIT for a in flex.actions(message))


def test_a_kiosk_code_from_the_scan_menu_checks_in_and_out_with_cards(live_app, app, line,
                                                                      emulator_server):
    city_for(app)
    set_mode(app, "west", CheckinMode.KIOSK)
    person = Resident(line)
    household = family(app, [person.user_id], children=1)
    # An entry posted earlier holds a code of an old window: scanning it is refused ...
    line.set_scan_targets([{"id": "west-kiosk", "label": "西（キオスク画面）",
                            "text": kiosk_text(app, "west", utcnow() - timedelta(minutes=10))}])
    line.scan_target(person.user_id, "west-kiosk")
    assert person.last().startswith("このQRコードは有効期限が切れています")
    # ... until the list is posted again (the demo does it every minute): same entry, new code.
    posted = app.test_cli_runner().invoke(main, ["scan-targets", "--post", emulator_server.url])
    assert posted.exit_code == 0, posted.output
    ids = [t["id"] for t in line.scan_targets()]
    assert ids == ["central-poster", "east-poster", "west-kiosk"]
    line.scan_target(person.user_id, "west-kiosk")

    card = person.card()
    assert_a_card_within_limits(card)
    rows = person.card_rows()
    assert rows["センター"] == "西子育て支援センター" and rows["子ども"] == "子ども1"
    assert re.fullmatch(r"\d\d:\d\d", rows["時刻"])
    assert card["altText"].startswith("西子育て支援センターにチェックインしました")
    assert "お帰りの際は、同じQRコードをもう一度読み取ってください。" in person.card_text()
    assert visits(app, household)[0]["center"] == "west"

    # Scanning again (after the double-scan guard) checks out, with the length of the stay.
    shift_visits(app, timedelta(minutes=50))
    line.scan_target(person.user_id, "west-kiosk")
    out = person.card_rows()
    assert out["センター"] == "西子育て支援センター" and out["滞在時間"] == "50分"
    assert person.last().startswith("西子育て支援センターからチェックアウトしました")


def test_an_unknown_scan_target_id_is_a_clear_404(line):
    user = line.create_user()["userId"]
    response = line.http.post(f"{line.base_url}/_emulator/scan",
                                 json={"userId": user, "target": "nowhere"}, timeout=5)
    assert response.status_code == 404
    assert "No scan target has that id" in response.json()["message"]


def test_scan_targets_follow_needs_an_emulator(app):
    city_for(app)
    result = app.test_cli_runner().invoke(main, ["scan-targets", "--follow"])
    assert result.exit_code != 0 and "--follow needs --post" in result.output


def test_my_data_is_a_card_whose_buttons_work(live_app, app, line):
    city_for(app)
    person = Resident(line)
    register(person, children=2)
    person.menu("mydata")
    card = person.card()
    assert_a_card_within_limits(card)
    rows = person.card_rows()
    assert rows["お名前"] == "山田花子" and rows["電話番号"] == "09012345678"
    assert rows["地区"] == "太田" and rows["言語"] == "日本語"
    assert "山田太郎（ヤマダ タロウ）" in person.card_text()
    assert [a["label"] for a in flex.actions(card)] == [
        "変更する", "子どもを追加", "パートナー招待", "お知らせ", "おすすめを止める", "削除する"]
    # The alternative text names the family but shows no contact details.
    assert card["altText"].startswith("【マイデータ】\n保護者：山田花子\n子ども：山田太郎、山田次郎")
    assert "0901234" not in card["altText"] and "太田町" not in card["altText"]
    person.tap("変更する")
    assert person.last() == "どの項目を変更しますか？"


def test_an_application_gets_a_receipt_card(live_app, app, line):
    city_for(app)
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)
    receipt = submissions(app, "childcare")[0]["receipt"]
    card = person.card()
    assert_a_card_within_limits(card)
    rows = person.card_rows()
    assert rows["受付番号"] == receipt and rows["申し込み"] == "一時預かりの申し込み"
    assert card["altText"] == f"送信しました。受付番号は{receipt}です。状況が変わったらこちらでお知らせします。"


def test_the_summary_card_changes_one_answer_with_its_own_button(live_app, app, line):
    city_for(app)
    person = Resident(line)
    person.menu("register")
    for text in ("山田花子", "やまだ はなこ", "090-1234-5678", "505-0041", "太田町1-2-3"):
        person.say(text)
    person.tap("太田")
    person.tap("はい")
    person.say("山田太郎")
    person.say("やまだ たろう")
    person.pick_date("2023-04-01")
    person.tap("スキップ")
    person.tap("スキップ")
    person.tap("いいえ")
    summary = person.card()
    assert_a_card_within_limits(summary)
    assert summary["altText"].startswith("【利用者登録】") and "送信しますか" in summary["altText"]
    assert person.card_rows()["住所"] == "太田町1-2-3"
    # Each answer has its own Change button; the one beside the address asks only the address.
    [change] = [a for a in flex.actions(summary) if a.get("displayText") == "変更する: 住所"]
    person.postback(change["data"])
    assert person.last().startswith("住所を送ってください。")
    person.say("太田町9-9")
    assert person.card_rows()["住所"] == "太田町9-9"
    assert person.card_rows()["保護者のお名前"] == "山田花子"  # the other answers stay
    # A Change button of the old summary belongs to an earlier message: nothing changes.
    person.postback(change["data"])
    assert "前のメッセージのもの" in person.texts()[-2]
    person.tap("送信")
    assert person.last().startswith("登録が完了しました")
