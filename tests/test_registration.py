"""Registration through the emulator: happy path, back, skip, cancel, edit, pause and resume,
expiry, stale taps, restart, redelivery, partners, My data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from cityhall import create_app
from cityhall import config as settings
from models import Resident as ResidentRow
from models.conversation import Conversation
from models.household import Child, Guardian, Household, InviteCode
from tests.chat import Resident
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, LiveServer
from tests.flows_helpers import (add_children, conversation, guardian, query, register,
                                 seed_city, submissions)


def age(app, model, column: str, delta: timedelta) -> None:
    """Move a timestamp of every row of the model into the past."""
    def shift(session):
        for row in session.scalars(select(model)):
            setattr(row, column, getattr(row, column) - delta)
    query(app, shift)


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    return live_app


def guardian_steps(person: Resident) -> None:
    """Answer the guardian questions up to the first child's name."""
    person.menu("register")
    for text in ("山田花子", "やまだ はなこ", "090-1234-5678", "505-0041", "太田町1-2-3"):
        person.say(text)
    person.tap("太田")
    person.tap("はい")


@pytest.mark.http  # end to end over real HTTP; the file's other chat tests run in-process
def test_register_guardian_with_two_children_in_under_15_messages(city, line, app):
    person = Resident(line)
    person.follow()
    person.tap("日本語")  # the language choice offers registration once chosen
    assert "登録する" in person.labels()
    person.taps = 0
    register(person, children=2)
    assert person.last().startswith("登録が完了しました。")
    stored = guardian(app, person.user_id)
    assert stored["name"] == "山田花子" and stored["kana"] == "ヤマダ ハナコ"
    assert stored["phone"] == "09012345678" and stored["district"] == "ota"
    assert [c[:3] for c in stored["children"]] == [
        ("山田太郎", "ヤマダ タロウ", date(2021, 5, 3)), ("山田次郎", "ヤマダ ジロウ", date(2023, 1, 20))]
    assert conversation(app, person.user_id) == []
    assert person.typed == 9 and person.taps == 12
    assert person.typed + person.taps < 25 and person.typed < 15


def test_back_goes_one_step_and_keeps_earlier_answers(city, line, app):
    person = Resident(line)
    person.menu("register")
    person.say("山田花子")
    person.say("やまだ はなこ")
    person.tap("◀ 戻る")
    assert person.last() == "お名前のふりがなを送ってください。"
    state = conversation(app, person.user_id)[0]
    assert state["step"] == "kana" and state["answers"] == {"name": "山田花子", "language": "ja"}
    person.say("戻る")  # typed works too
    assert person.last() == "保護者（あなた）のお名前を送ってください。"
    person.say("戻る")
    assert person.texts()[-2] == "これが最初の質問です。"


def test_back_from_a_new_child_returns_to_add_another(city, line, app):
    person = Resident(line)
    guardian_steps(person)
    add_children(person, 1)  # ends with "いいえ" to "another child?"
    person.tap("◀ 戻る")
    assert person.last() == "ほかにもお子さんを登録しますか？"
    person.tap("はい")
    assert person.last() == "お子さん 2: お子さんのお名前を送ってください。"
    person.tap("◀ 戻る")
    assert person.last() == "ほかにもお子さんを登録しますか？"
    assert len(conversation(app, person.user_id)[0]["answers"]["children"]) == 1


def test_optional_field_can_be_skipped_and_shows_as_empty(city, line, app):
    person = Resident(line)
    guardian_steps(person)
    person.say("山田太郎")
    person.say("ヤマダ タロウ")
    person.pick_date("2022-02-02")
    assert "スキップ" in person.labels()
    person.tap("スキップ")
    person.say("卵アレルギー")
    person.tap("いいえ")
    assert "・お子さん 1 性別: —" in person.last()
    person.tap("送信")
    assert guardian(app, person.user_id)["children"][0][3:] == (None, "卵アレルギー")


def test_cancel_by_text_or_button_ends_the_form_and_stores_nothing(city, line, app):
    person = Resident(line)
    person.menu("register")
    person.say("山田花子")
    person.say("キャンセル")
    assert person.last() == "「利用者登録」を中止しました。何も送信されていません。"
    assert conversation(app, person.user_id) == [] and guardian(app, person.user_id) is None
    person.say("キャンセル")
    assert person.last() == "中止する手続きはありません。"
    person.menu("register")
    person.tap("やめる")
    assert conversation(app, person.user_id) == []


def test_edit_one_answer_at_the_confirmation(city, line, app):
    person = Resident(line)
    guardian_steps(person)
    add_children(person, 1)
    person.tap("修正する")
    assert "電話番号" in person.labels() and "1:生年月日" in person.labels()
    person.tap("電話番号")
    assert "現在の内容：09012345678" in person.last()
    person.say("bad")
    assert person.texts()[-2].startswith("⚠️ 090-1234-5678のように")
    person.say("0574-25-2111")
    assert "・電話番号: 0574252111" in person.last() and person.last().endswith("送信しますか？")
    person.tap("修正する")
    person.tap("1:生年月日")
    person.pick_date("2020-12-24")
    person.tap("送信")
    stored = guardian(app, person.user_id)
    assert stored["phone"] == "0574252111" and stored["children"][0][2] == date(2020, 12, 24)


def test_another_command_pauses_the_form_and_offers_to_resume(city, line, app):
    person = Resident(line)
    person.menu("register")
    person.say("山田花子")
    person.menu("mydata")  # a rich-menu tap in the middle
    texts = person.texts()
    assert texts[-2] == "まだ登録されていません。"
    assert texts[-1] == "途中の手続き「利用者登録」があります。再開しますか？"
    assert conversation(app, person.user_id)[0]["status"] == "paused"
    person.say("こんにちは")  # not an answer: the paused form stays paused
    assert guardian(app, person.user_id) is None
    assert person.last() == "途中の手続き「利用者登録」があります。再開しますか？"
    person.tap("再開する")
    assert person.last() == "お名前のふりがなを送ってください。"
    assert conversation(app, person.user_id)[0]["answers"]["name"] == "山田花子"


def test_starting_the_same_form_again_resumes_it(city, line, app):
    person = Resident(line)
    person.menu("register")
    person.say("山田花子")
    person.say("言語")  # the language command interrupts
    person.menu("register")
    assert person.texts()[-2] == "前回の続きから再開します。"
    assert person.last() == "お名前のふりがなを送ってください。"


def test_discarding_a_paused_form(city, line, app):
    person = Resident(line)
    person.menu("register")
    person.menu("apply")
    person.tap("破棄する")
    assert person.last() == "「利用者登録」を中止しました。何も送信されていません。"
    assert conversation(app, person.user_id) == []


def test_abandoned_form_expires(city, line, app):
    person = Resident(line)
    person.menu("register")
    person.say("山田花子")
    age(app, Conversation, "updated_at", timedelta(minutes=1441))
    person.say("やまだ はなこ")
    assert person.last() == ("「利用者登録」は長い間操作がなかったため破棄しました。"
                             "お手数ですが、最初からやり直してください。")
    assert conversation(app, person.user_id) == []


def test_expiry_job_drops_old_forms(city, line, app):
    from cityhall.jobs import JOBS

    person = Resident(line)
    person.menu("register")
    with app.app_context():
        from cityhall.jobs import run_job
        assert "expire-forms" in JOBS
        assert run_job("expire-forms", ctx_now(app)) == 0
        assert run_job("expire-forms", ctx_now(app) + timedelta(days=2)) == 1


def ctx_now(app):
    from models import utcnow
    return utcnow()


def test_stale_postback_is_detected_and_changes_nothing(city, line, app):
    person = Resident(line)
    guardian_steps(person)
    person.say("山田太郎")
    person.say("ヤマダ タロウ")
    picker = person.picker("date")
    person.pick_date("2021-01-01")
    old_skip = person.button("スキップ")["data"]
    person.tap("スキップ")  # sex skipped; now at notes
    before = conversation(app, person.user_id)[0]
    person.postback(old_skip)  # the same quick reply tapped twice
    person.postback(picker["data"], {"date": "2019-09-09"})  # a picker from earlier
    after = conversation(app, person.user_id)[0]
    assert after["answers"] == before["answers"] and after["step"] == "children.0.notes"
    assert person.texts()[-2] == "そのボタンは前のメッセージのものなので、何も変更していません。"
    assert person.last() == "お子さん 1: アレルギーや配慮してほしいことがあれば送ってください。（任意）"


def test_stale_postback_after_the_form_ended(city, line, app):
    person = Resident(line)
    person.menu("register")
    cancel = person.button("やめる")["data"]
    person.tap("やめる")
    person.postback(cancel)
    assert person.last() == "そのボタンは前のメッセージのものなので、何も変更していません。"


def test_restart_in_the_middle_loses_nothing(city, line, app, database_url, emulator_server):
    person = Resident(line)
    guardian_steps(person)
    person.say("山田太郎")
    city.stop()  # the first app is gone; only the database remembers
    config = settings.TestingConfig(DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
                           LINE_DATA_API_BASE_URL=emulator_server.url,
                           LINE_CHANNEL_SECRET=CHANNEL_SECRET,
                           LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN)
    second = create_app(config)
    server = LiveServer(second).start()
    line.set_webhook(server.url + "/callback")
    try:
        person.say("ヤマダ タロウ")
        assert person.last() == "お子さん 1: 生年月日を選んでください。"
        person.pick_date("2021-05-03")
        person.tap("スキップ")
        person.tap("スキップ")
        person.tap("いいえ")
        person.tap("送信")
        assert guardian(app, person.user_id)["children"][0][0] == "山田太郎"
    finally:
        server.stop()
        second.extensions["cityhall.db"][0].dispose()


def test_redelivered_answer_mid_form_is_applied_once(city, line, app):
    person = Resident(line)
    guardian_steps(person)
    first = person.say("山田太郎")
    state = conversation(app, person.user_id)[0]
    line.redeliver(first["webhookEventIds"][0])
    assert conversation(app, person.user_id)[0] == state
    person.say("ヤマダ タロウ")
    assert conversation(app, person.user_id)[0]["answers"]["children"] == [
        {"name": "山田太郎", "kana": "ヤマダ タロウ"}]


def test_redelivered_send_creates_one_registration(city, line, app):
    person = Resident(line)
    guardian_steps(person)
    add_children(person, 1)
    sent = person.tap("送信")
    line.redeliver(sent["webhookEventIds"][0])
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(Guardian))) == 1


def test_two_partners_share_children_but_not_contact_details(city, line, app):
    first = Resident(line, name="山田花子")
    register(first, children=2)
    first.menu("mydata")
    first.tap("パートナー招待")
    code = first.last()
    assert len(code) == 9 and code[4] == "-"
    partner = Resident(line, name="山田一郎")
    partner.follow()
    partner.say(code.lower())
    assert partner.texts()[-3].startswith("招待コードを確認しました。")
    for text in ("山田一郎", "やまだ いちろう", "080-9999-0000", "505-0041", "太田町1-2-3"):
        partner.say(text)
    partner.tap("太田")
    partner.tap("はい")
    assert "お子さん" not in partner.last().split("送信しますか")[0].split("同意: はい")[1]
    partner.tap("送信")
    assert partner.last() == "パートナーの世帯に参加しました。お子さんの登録を共有しています。"
    mine, theirs = guardian(app, first.user_id), guardian(app, partner.user_id)
    assert mine["household_id"] == theirs["household_id"]
    assert theirs["children"] == mine["children"] and len(theirs["children"]) == 2
    partner.menu("mydata")
    shown = partner.card_text() + "\n" + partner.last()  # the card and its altText
    assert "山田太郎" in shown and "山田次郎" in shown and "080-9999-0000" not in shown
    assert "08099990000" in shown and "09012345678" not in shown
    assert partner.card_rows()["パートナー"] == "山田花子"
    assert "連絡先はご本人のみ閲覧できます。" in shown
    # The alternative text names the people, never a phone number or an address.
    assert "パートナー：山田花子" in partner.last() and "0809" not in partner.last()
    # The code worked once.
    third = Resident(line, name="誰か")
    third.say(code)
    assert third.last().startswith("申し訳ありません。その招待コードは期限切れか")


def test_expired_invite_code_is_refused(city, line, app):
    first = Resident(line)
    register(first, children=1)
    first.menu("mydata")
    first.tap("パートナー招待")
    code = first.last()
    age(app, InviteCode, "expires_at", timedelta(days=8))
    partner = Resident(line, name="P")
    partner.say(code)
    assert partner.last().startswith("申し訳ありません。その招待コードは期限切れか")


def test_my_data_shows_edits_adds_a_child_and_deletes(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("mydata")
    assert person.card_rows()["お名前"] == "山田花子" and "山田太郎" in person.card_text()
    assert person.last().startswith("【マイデータ】")
    person.tap("変更する")
    person.tap("住所")
    assert person.last() == "住所を送ってください。"
    person.say("太田町9-9")
    assert person.last().count("・") == 1  # the summary shows only the changed item
    person.tap("送信")
    assert person.last() == "登録内容を変更しました。"
    person.menu("mydata")
    person.tap("変更する")
    person.tap("山田太郎")
    person.tap("ふりがな")
    person.say("やまだ たろー")
    person.tap("送信")
    person.menu("mydata")
    person.tap("子どもを追加")
    person.say("山田三郎")
    person.say("ヤマダ サブロウ")
    person.pick_date("2024-03-03")
    person.tap("男の子")
    person.tap("スキップ")
    person.tap("送信")
    assert person.last() == "山田三郎さんを追加しました。"
    stored = guardian(app, person.user_id)
    assert [c[:2] for c in stored["children"]] == [("山田太郎", "ヤマダ タロー"),
                                                  ("山田三郎", "ヤマダ サブロウ")]
    person.menu("mydata")
    person.tap("削除する")
    person.tap("削除する")
    assert person.last().startswith("登録を削除しました。")
    assert guardian(app, person.user_id) is None
    counts = query(app, lambda s: (s.scalar(select(func.count()).select_from(Child)),
                                   s.scalar(select(func.count()).select_from(Household))))
    assert counts == (0, 0)
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(ResidentRow))) == 1


def test_already_registered_resident_is_sent_to_my_data(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("register")
    assert person.last() == "すでに登録済みです。" and person.labels() == ["マイデータ"]


def test_english_registration(city, line, app):
    person = Resident(line, name="Alex", language="en")
    person.follow()
    person.menu("register")
    assert person.last() == "Please send your name."
    person.say("Alex Smith")
    person.say("アレックス スミス")
    person.say("09011112222")
    person.say("5050041")
    person.say("1-1 Ota")
    assert "Ota" in person.labels()
    person.tap("Ota")
    person.tap("Yes")
    person.say("Mia")
    person.say("ミア")
    person.pick_date("2022-06-01")
    person.tap("Girl")
    person.tap("Skip")
    person.tap("No")
    assert "・Language: English" in person.last()
    person.tap("Send")
    assert person.last().startswith("Registration complete.")
    assert guardian(app, person.user_id)["children"][0][3] == "girl"
    assert submissions(app) == []
