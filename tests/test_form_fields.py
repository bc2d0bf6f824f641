"""Every field type through the emulator: each invalid answer is re-asked with its reason."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.flows.registry import forms
from bot.flows.schema import form_from_data
from models import utcnow
from residents.chat import ApplyForm
from tests.chat import Resident
from tests.flows_helpers import conversation, query, register, seed_city, submissions

TODAY = utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()
OPTIONS = [{"value": "apple", "ja": "りんご", "en": "Apple"},
           {"value": "pear", "ja": "なし", "en": "Pear"},
           {"value": "peach", "ja": "もも", "en": "Peach"}]


def one_field_form(form_id: str, **spec) -> dict:
    """A menu form with one field "x" of the given spec."""
    field = {"id": "x", "label": {"ja": "項目", "en": "Item"},
             "prompt": {"ja": "項目を送ってください。", "en": "Send the item."}, **spec}
    return {"id": form_id, "title": {"ja": "テスト", "en": "Test"}, "department": "childcare",
            "receipt_prefix": "T", "menu": True, "requires_registration": spec["type"] == "child",
            "fields": [field]}


@pytest.fixture
def field_form():
    """Install a one-field form for the test; remove it afterwards."""
    added = []

    def install(**spec):
        form = forms().add(form_from_data(one_field_form(f"t{len(added)}", **spec), "test"))
        added.append(form.id)
        return form

    yield install
    for form_id in added:
        forms().remove(form_id)


def start(person: Resident, form_id: str) -> None:
    person.postback(ApplyForm(form_id).pack())


INVALID = [
    ({"type": "text", "max_length": 5}, "123456", "5文字以内で入力してください。"),
    ({"type": "text", "pattern": "[A-Z]{3}", "error": {"ja": "大文字3文字です。", "en": "3 caps"}},
     "abc1", "大文字3文字です。"),
    ({"type": "longtext", "min_length": 3}, "ab", "3文字以上で入力してください。"),
    ({"type": "number", "min": 1, "max": 8}, "たくさん", "数字で送ってください（例：3）。"),
    ({"type": "number", "min": 1, "max": 8}, "9", "1から8までの数字を送ってください。"),
    ({"type": "number", "min": 1}, "0", "1以上の数字を送ってください。"),
    ({"type": "number", "max": 8}, "10時間", "8以下の数字を送ってください。"),
    ({"type": "number"}, "2.5", "整数で送ってください。"),
    ({"type": "date"}, "きのう", f"{TODAY.isoformat()}のように日付を送るか、ボタンで選んでください。"),
    ({"type": "date"}, "2026-02-30", f"{TODAY.isoformat()}のように日付を送るか、ボタンで選んでください。"),
    ({"type": "date", "min_date": "+1d", "max_date": "+60d"}, TODAY.isoformat(),
     f"{TODAY + timedelta(days=1)}から{TODAY + timedelta(days=60)}までの日付を選んでください。"),
    ({"type": "date", "max_date": "today"}, (TODAY + timedelta(days=1)).isoformat(),
     f"{TODAY}以前の日付を選んでください。"),
    ({"type": "date", "min_date": "today"}, "2000-01-01", f"{TODAY}以降の日付を選んでください。"),
    ({"type": "time"}, "朝", "09:30のように時刻を送るか、ボタンで選んでください。"),
    ({"type": "time", "min": "08:00", "max": "17:00"}, "18:30",
     "08:00から17:00までの時刻を選んでください。"),
    ({"type": "choice", "options": OPTIONS}, "ぶどう", "下の選択肢から選んでください。"),
    ({"type": "multichoice", "options": OPTIONS}, "りんご、ぶどう",
     "下の選択肢から選んでください。複数の場合は「、」で区切ってください。"),
    ({"type": "multichoice", "options": OPTIONS, "max": 1}, "りんご、なし", "1個以内で選んでください。"),
    ({"type": "yesno"}, "たぶん", "「はい」か「いいえ」で答えてください。"),
    ({"type": "yesno", "must_be": True, "error": {"ja": "同意が必要です。", "en": "Needed."}},
     "いいえ", "同意が必要です。"),
    ({"type": "phone"}, "123-456", "090-1234-5678のように電話番号を送ってください。"),
    ({"type": "postal"}, "12345", "505-0041のように郵便番号を送ってください。"),
    ({"type": "kana"}, "山田", "ふりがな（カタカナまたはひらがな）で入力してください（例：ヤマダ ハナコ）。"),
    ({"type": "email"}, "hanako@", "name@example.comのようにメールアドレスを送ってください。"),
    ({"type": "location"}, "駅前です", "下のボタンから位置情報を送ってください。"),
    ({"type": "photo"}, "写真です", "下のボタンから写真を送ってください。"),
]


@pytest.mark.parametrize("spec, sent, message", INVALID,
                         ids=[f"{s['type']}-{i}" for i, (s, _, _) in enumerate(INVALID)])
def test_invalid_answer_is_asked_again_with_the_reason(live_app, line, app, field_form,
                                                       spec, sent, message):
    form = field_form(**spec)
    person = Resident(line)
    start(person, form.id)
    before = conversation(app, person.user_id)[0]
    person.say(sent)
    texts = person.texts()
    assert texts[-2] == "⚠️ " + message
    assert texts[-1].startswith("項目を送ってください。")
    after = conversation(app, person.user_id)[0]
    assert after["step"] == "x" and after["answers"] == {} and after["nonce"] > before["nonce"]


VALID = [
    ({"type": "text"}, "こんにちは", "こんにちは"),
    ({"type": "longtext"}, "長い\n文章", "長い\n文章"),
    ({"type": "number", "min": 1, "max": 8}, "３時間", 3),
    ({"type": "number", "integer": False}, "2.5", 2.5),
    ({"type": "date"}, "2026年4月1日", "2026-04-01"),
    ({"type": "time"}, "9時半", "09:30"),
    ({"type": "choice", "options": OPTIONS}, "Pear", "pear"),
    ({"type": "multichoice", "options": OPTIONS}, "もも、りんご", ["apple", "peach"]),
    ({"type": "yesno"}, "はい", True),
    ({"type": "phone"}, "０９０ー１２３４ー５６７８", "09012345678"),
    ({"type": "postal"}, "〒5050041", "505-0041"),
    ({"type": "kana"}, "やまだ　はなこ", "ヤマダ ハナコ"),
    ({"type": "email"}, "hanako@example.jp", "hanako@example.jp"),
]


@pytest.mark.parametrize("spec, sent, stored", VALID,
                         ids=[f"{s['type']}-{i}" for i, (s, _, _) in enumerate(VALID)])
def test_valid_typed_answer_is_normalized_and_stored(live_app, line, app, field_form,
                                                     spec, sent, stored):
    form = field_form(**spec)
    person = Resident(line)
    start(person, form.id)
    person.say(sent)
    assert conversation(app, person.user_id)[0]["answers"] == {"x": stored}
    assert person.last().endswith("この内容で送信しますか？")
    person.tap("送信")
    assert submissions(app, form.id)[0]["answers"] == {"x": stored}


def test_pickers_answer_date_and_time_fields(live_app, line, app, field_form):
    day = field_form(type="date", min_date="+1d", max_date="+60d")
    person = Resident(line)
    start(person, day.id)
    picker = person.picker("date")
    assert picker["min"] == (TODAY + timedelta(days=1)).isoformat()
    assert picker["max"] == (TODAY + timedelta(days=60)).isoformat()
    person.pick_date(TODAY + timedelta(days=3))
    assert conversation(app, person.user_id)[0]["answers"] == {"x": str(TODAY + timedelta(days=3))}
    person.tap("やめる")
    hour = field_form(type="time", min="08:00", max="17:00")
    start(person, hour.id)
    assert person.picker("time")["min"] == "08:00"
    person.pick_time("16:45")
    assert conversation(app, person.user_id)[0]["answers"] == {"x": "16:45"}


def test_multichoice_toggles_then_done(live_app, line, app, field_form):
    form = field_form(type="multichoice", options=OPTIONS)
    person = Resident(line)
    start(person, form.id)
    # "Done" is not offered yet, and the question does not ask to tap it.
    assert "決定" not in person.labels()
    assert person.last() == ("項目を送ってください。\n当てはまるものをタップしてください（複数可）。"
                             "1つ選ぶと「決定」ボタンが表示されます。")
    person.tap("もも")
    person.tap("りんご")
    assert "✓ もも" in person.labels() and "✓ りんご" in person.labels()
    person.tap("✓ もも")  # untick
    assert person.last().endswith("選択中：りんご。選び終わったら「決定」を押してください（もう一度タップすると外せます）。")
    person.tap("決定")
    assert conversation(app, person.user_id)[0]["answers"] == {"x": ["apple"]}


def test_photo_is_fetched_through_the_gateway_and_stored(live_app, line, app, field_form):
    form = field_form(type="photo")
    person = Resident(line)
    start(person, form.id)
    assert {"camera", "cameraRoll"} <= {a["type"] for a in person.quick_replies()}
    jpeg = b"\xff\xd8\xff\xe0" + b"photo-bytes" * 10
    person.send_image(jpeg)
    answer = conversation(app, person.user_id)[0]["answers"]["x"]
    assert answer["content_type"] == "image/jpeg" and answer["bytes"] == len(jpeg)

    def stored(session):
        from models.application import Upload
        return session.get(Upload, answer["upload_id"]).data
    assert query(app, stored) == jpeg
    assert any(r["path"].endswith("/content") for r in line.requests("/v2/bot/message/"))


def test_photo_that_cannot_be_fetched_is_asked_again(live_app, line, app, field_form):
    form = field_form(type="photo")
    person = Resident(line)
    start(person, form.id)
    line.add_fault("/v2/bot/message/", status=500, count=1)
    person.send_image(b"\x89PNG....")
    assert person.texts()[-2] == "⚠️ 申し訳ありません。写真を受け取れませんでした。もう一度送ってください。"
    assert conversation(app, person.user_id)[0]["answers"] == {}


def test_location_is_stored(live_app, line, app, field_form):
    form = field_form(type="location")
    person = Resident(line)
    start(person, form.id)
    assert person.quick_replies()[0]["type"] == "location"
    person.send_location(35.44, 137.01, "美濃加茂市太田町")
    assert conversation(app, person.user_id)[0]["answers"]["x"] == {
        "latitude": 35.44, "longitude": 137.01, "address": "美濃加茂市太田町", "title": None}


def test_child_field_offers_the_household_children(live_app, line, app, field_form):
    seed_city(app)
    form = field_form(type="child")
    person = Resident(line)
    register(person, children=2)
    start(person, form.id)
    assert person.labels()[:2] == ["山田太郎", "山田次郎"]
    person.say("知らない子")
    assert person.texts()[-2] == "⚠️ 登録済みのお子さんから選んでください。"
    person.tap("山田次郎")
    assert conversation(app, person.user_id)[0]["answers"]["x"]["name"] == "山田次郎"


def test_more_than_thirteen_options_are_paged(live_app, line, app, field_form):
    many = [{"value": f"o{i}", "ja": f"選択{i}", "en": f"Option {i}"} for i in range(20)]
    form = field_form(type="choice", options=many)
    person = Resident(line)
    start(person, form.id)
    first = person.labels()
    assert len(first) == 13 and "次へ ▶" in first and "選択0" in first
    person.tap("次へ ▶")
    second = person.labels()
    assert "選択11" in second and "選択0" not in second
    person.tap("選択19" if "選択19" in second else "次へ ▶")
    while conversation(app, person.user_id)[0]["answers"] == {}:
        person.tap("選択19")
    assert conversation(app, person.user_id)[0]["answers"] == {"x": "o19"}


def test_required_field_cannot_be_skipped_by_typing_skip(live_app, line, app, field_form):
    form = field_form(type="text")
    person = Resident(line)
    start(person, form.id)
    person.say("スキップ")
    assert person.texts()[-2] == "⚠️ この質問はスキップできません。"


def test_image_sent_to_a_text_question_is_refused(live_app, line, app, field_form):
    form = field_form(type="text")
    person = Resident(line)
    start(person, form.id)
    person.send_image(b"\xff\xd8jpeg")
    assert person.texts()[-2] == "⚠️ 文字で入力してください。"


def test_english_resident_gets_english_prompts_and_reasons(live_app, line, app, field_form):
    form = field_form(type="phone")
    person = Resident(line, name="Alex", language="en")
    person.follow()
    start(person, form.id)
    assert person.last().startswith("Send the item.")
    person.say("12")
    assert person.texts()[-2] == "⚠️ Please send a phone number like 090-1234-5678."
    assert person.labels() == ["Cancel"]
