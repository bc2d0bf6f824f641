"""Validation that ties answers to the calendar, the clock and each other: Japanese dates,
closed days, closing time, different choices, and examples that are valid answers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.flows.dates import read_date
from bot.flows.registry import forms
from bot.flows.schema import FormError, form_from_data
from cityhall.city import City
from models import utcnow
from residents.chat import ApplyForm
from tests.chat import Resident
from tests.flows_helpers import conversation, register, seed_city, submissions

CITY = City()
TODAY = utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()


def text(ja: str, en: str | None = None) -> dict[str, str]:
    return {"ja": ja, "en": en or ja}


def next_weekday(start: date, weekday: int) -> date:
    """Return the first day on or after `start` falling on `weekday` (0 = Monday)."""
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def open_day(start: date, closed: tuple[int, ...] = (6,)) -> date:
    """Return the first day on or after `start` that is not a closed weekday."""
    while start.weekday() in closed:
        start += timedelta(days=1)
    return start


# Reading dates the Japanese way, counted from today in the city


# 2026-12-01 10:00 in Tokyo is a Tuesday.
TUESDAY = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
DATES = [
    ("2026-12-10", date(2026, 12, 10)),
    ("2026/12/10", date(2026, 12, 10)),
    ("2026年12月10日", date(2026, 12, 10)),
    ("１２月１０日", date(2026, 12, 10)),
    ("12月10日", date(2026, 12, 10)),
    ("12月10日（木）", date(2026, 12, 10)),
    ("12/10", date(2026, 12, 10)),
    ("１２／１０", date(2026, 12, 10)),
    ("10日", date(2026, 12, 10)),
    ("令和8年12月10日", date(2026, 12, 10)),
    ("R8.12.10", date(2026, 12, 10)),
    ("令和元年5月1日", date(2019, 5, 1)),
    ("今日", date(2026, 12, 1)),
    ("明日", date(2026, 12, 2)),
    ("あした", date(2026, 12, 2)),
    ("明後日", date(2026, 12, 3)),
    ("来週月曜", date(2026, 12, 7)),
    ("来週の月曜日", date(2026, 12, 7)),
    ("来週火曜", date(2026, 12, 8)),
    ("月曜", date(2026, 12, 7)),
    ("金曜日", date(2026, 12, 4)),
    ("火曜", date(2026, 12, 8)),  # today is Tuesday: the next one
    ("今週の日曜日", date(2026, 12, 6)),
    ("11月3日", date(2027, 11, 3)),  # already past this year: next year's
    ("1/5", date(2027, 1, 5)),
    ("12月1日", date(2026, 12, 1)),  # today is "from today"
]


@pytest.mark.parametrize("typed, expected", DATES, ids=[d[0] for d in DATES])
def test_japanese_ways_of_writing_a_day(typed, expected):
    assert read_date(typed, CITY.today(TUESDAY)) == expected


def test_relative_days_count_from_today_in_the_city_time_zone():
    late = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)  # 05:00 on Dec 2 in Tokyo
    assert read_date("明日", CITY.today(late)) == date(2026, 12, 3)
    assert read_date("明日", City(timezone="UTC").today(late)) == date(2026, 12, 2)
    assert read_date("12/1", CITY.today(late)) == date(2027, 12, 1)


def test_a_yearless_birth_date_is_the_latest_that_fits():
    today = CITY.today(TUESDAY)
    assert read_date("12月10日", today, high=today) == date(2025, 12, 10)
    assert read_date("11月3日", today, high=today) == date(2026, 11, 3)
    assert read_date("3日", today, high=today) == date(2026, 11, 3)


@pytest.mark.parametrize("typed", ["2月30日", "13/40", "きのう", "月", "来週", "2026-02-30",
                                   "令和8年13月1日"])
def test_what_is_not_a_day_is_not_read(typed):
    assert read_date(typed, CITY.today(TUESDAY)) is None


# Declaring the rules: mistakes name the file and the field


def form_with(*fields: dict) -> dict:
    return {"id": "rules", "title": text("規則"), "department": "childcare",
            "receipt_prefix": "R", "menu": True, "fields": list(fields)}


def field(field_id: str, kind: str, **spec) -> dict:
    return {"id": field_id, "type": kind, "label": text(field_id), "prompt": text(field_id),
            **spec}


BAD_DECLARATIONS = [
    ([field("a", "date"), field("b", "date", differs_from="c")],
     "differs_from 'c' is not an earlier field of type 'date'"),
    ([field("a", "time"), field("b", "date", differs_from="a")],
     "differs_from 'a' is not an earlier field of type 'date'"),
    ([field("h", "number", ends_by={"start": "s", "at": "17:00"}), field("s", "time")],
     "ends_by.start 's' is not an earlier time field"),
    ([field("s", "time"), field("h", "number", ends_by={"start": "s", "at": "5pm"})],
     'ends_by.at must be a time like "17:00"'),
    ([field("s", "time"), field("h", "number", ends_by={"start": "s"})],
     'write ends_by: {start: FIELD, at: "HH:MM"}'),
    ([field("d", "date", closed_weekdays=["sunday"])], "closed_weekdays must be a list of"),
    ([field("d", "date", closed_weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])],
     "closed_weekdays closes every day of the week"),
    ([field("d", "date", closed_dates=["12/29"])], "closed_dates must be a list of YYYY-MM-DD"),
]


@pytest.mark.parametrize("fields, message", BAD_DECLARATIONS,
                         ids=[str(i) for i in range(len(BAD_DECLARATIONS))])
def test_a_wrong_rule_stops_the_form_naming_the_field(fields, message):
    with pytest.raises(FormError) as error:
        form_from_data(form_with(*fields), "rules.yaml")
    assert message in str(error.value) and str(error.value).startswith("rules.yaml: fields[")


# Bad answers through the emulator, with the reason in Japanese and in English

SUNDAY = next_weekday(TODAY + timedelta(days=1), 6)
FIRST = open_day(TODAY + timedelta(days=3))
CLOSED = open_day(TODAY + timedelta(days=5))
OPEN_FIELDS = [field("day", "date", min_date="+1d", max_date="+60d", closed_weekdays=["sun"],
                     closed_dates=[CLOSED.isoformat()])]
CHOICES = [field("first", "date", label=text("第1希望日", "First choice"), min_date="+1d"),
           field("second", "date", label=text("第2希望日", "Second choice"), min_date="+1d",
                 differs_from="first")]
HOURS = [field("start", "time", min="08:00", max="16:30"),
         field("hours", "number", min=1, max=8, ends_by={"start": "start", "at": "17:00"})]
EXAMPLE = open_day(TODAY + timedelta(days=1))

REFUSALS = [
    (OPEN_FIELDS, [], SUNDAY.isoformat(), "日曜日は休みです。別の日を選んでください。",
     "We are closed on Sundays. Please choose another day."),
    (OPEN_FIELDS, [], f"{SUNDAY.month}月{SUNDAY.day}日", "日曜日は休みです。別の日を選んでください。",
     "We are closed on Sundays. Please choose another day."),
    (OPEN_FIELDS, [], f"{CLOSED.month}/{CLOSED.day}", f"{CLOSED}は休みです。別の日を選んでください。",
     f"We are closed on {CLOSED}. Please choose another day."),
    (OPEN_FIELDS, [], "きのう", f"{EXAMPLE}のように日付を送るか、ボタンで選んでください。",
     f"Please send a date like {EXAMPLE}, or use the button."),
    (CHOICES, [FIRST.isoformat()], f"{FIRST.month}月{FIRST.day}日",
     f"「第1希望日」（{FIRST}）とは別のものを選んでください。",
     f"Please choose something other than your answer to \"First choice\" ({FIRST})."),
    (HOURS, ["10:00"], "8", "終了が18:00になり、17:00の終了時刻を過ぎます。7時間以内で選んでください。",
     "That would end at 18:00, after closing at 17:00. Please choose 7 hours or fewer."),
    (HOURS, ["9時半"], "8時間", "終了が17:30になり、17:00の終了時刻を過ぎます。7時間以内で選んでください。",
     "That would end at 17:30, after closing at 17:00. Please choose 7 hours or fewer."),
    (HOURS, ["16:30"], "1", "16:30からでは、17:00の終了までに時間がありません。「戻る」で早い開始時刻を選び直してください。",
     "Starting at 16:30 leaves no time before closing at 17:00. Please go back and choose an "
     "earlier start time."),
]


@pytest.fixture
def rules_form():
    """Install a form of the given fields for the test; remove it afterwards."""
    added = []

    def install(fields: list[dict]):
        form = form_from_data({**form_with(*fields), "id": f"rules{len(added)}"}, "test")
        added.append(forms().add(form).id)
        return form

    yield install
    for form_id in added:
        forms().remove(form_id)


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("fields, before, sent, ja, en", REFUSALS,
                         ids=[f"{i}-{r[2]}" for i, r in enumerate(REFUSALS)])
def test_a_refused_answer_says_why_and_asks_again(live_app, line, app, rules_form, language,
                                                  fields, before, sent, ja, en):
    form = rules_form(fields)
    person = Resident(line, language=language)
    person.follow()
    person.postback(ApplyForm(form.id).pack())
    for answer in before:
        person.say(answer)
    step = conversation(app, person.user_id)[0]["step"]
    person.say(sent)
    assert person.texts()[-2] == "⚠️ " + (ja if language == "ja" else en)
    after = conversation(app, person.user_id)[0]
    assert after["step"] == step and step not in after["answers"]


def test_the_error_example_is_an_answer_the_field_takes(live_app, line, app, rules_form):
    form = rules_form(OPEN_FIELDS)
    person = Resident(line)
    person.postback(ApplyForm(form.id).pack())
    assert person.picker("date")["initial"] == EXAMPLE.isoformat()
    person.say("いつでも")
    example = person.texts()[-2].removeprefix("⚠️ ").split("のように")[0]
    assert example != TODAY.isoformat()
    person.say(example)
    assert conversation(app, person.user_id)[0]["answers"] == {"day": example}


def test_changing_an_earlier_answer_asks_again_what_it_breaks(live_app, line, app, rules_form):
    form = rules_form(HOURS)
    person = Resident(line, language="en")
    person.follow()
    person.postback(ApplyForm(form.id).pack())
    person.say("9:00")
    person.say("8")
    assert conversation(app, person.user_id)[0]["answers"] == {"start": "09:00", "hours": 8}
    person.tap("Edit")
    person.tap("start")
    person.say("11:00")
    texts = person.texts()
    assert texts[-2] == ("⚠️ Please answer \"hours\" again: That would end at 19:00, after "
                         "closing at 17:00. Please choose 6 hours or fewer.")
    assert texts[-1].startswith("hours")
    state = conversation(app, person.user_id)[0]
    assert state["step"] == "hours" and state["answers"] == {"start": "11:00"}
    person.say("6")
    person.tap("Send")
    assert submissions(app, form.id)[0]["answers"] == {"start": "11:00", "hours": 6}


# The real forms, turn by turn


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    return live_app


def state(app, person: Resident) -> tuple[str, dict]:
    """Return the step asked and the answers of the resident's running form."""
    row = conversation(app, person.user_id)[0]
    return row["step"], row["answers"]


def test_childcare_turn_by_turn_respects_sundays_and_the_closing_time(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("apply")
    person.tap("一時預かりの申し込み")
    assert state(app, person)[0] == "center"  # the center comes first: it routes the request
    person.tap("中央子育て支援センター")
    assert state(app, person)[0] == "date"
    assert person.last().startswith("利用したい日を選んでください（明日から60日以内、日曜休み）。")

    person.say(f"{SUNDAY.month}月{SUNDAY.day}日")
    assert person.texts()[-2] == "⚠️ 日曜日は休みです。別の日を選んでください。"
    assert state(app, person)[0] == "date" and "date" not in state(app, person)[1]

    day = open_day(TODAY + timedelta(days=7))
    person.say(f"{day.month}/{day.day}")
    assert state(app, person) == ("start_time", {**state(app, person)[1], "date": day.isoformat()})

    person.say("１０時")
    assert state(app, person)[0] == "hours" and state(app, person)[1]["start_time"] == "10:00"

    person.say("8")  # 10:00 + 8 hours ends at 18:00, after the 17:00 close
    assert person.texts()[-2] == ("⚠️ 終了が18:00になり、17:00の終了時刻を過ぎます。"
                                  "7時間以内で選んでください。")
    assert state(app, person)[0] == "hours" and "hours" not in state(app, person)[1]

    person.say("７")
    assert state(app, person)[0] == "reason" and state(app, person)[1]["hours"] == 7
    person.tap("仕事")
    person.tap("スキップ")
    assert state(app, person)[0] == "confirm"

    person.tap("修正する")
    person.tap("開始時刻")
    person.say("11:00")  # 7 hours from 11:00 no longer fits: the hours are asked again
    assert person.texts()[-2] == ("⚠️ 「時間数」をもう一度答えてください：終了が18:00になり、"
                                  "17:00の終了時刻を過ぎます。6時間以内で選んでください。")
    step, answers = state(app, person)
    assert step == "hours" and answers["start_time"] == "11:00" and "hours" not in answers
    person.say("6")
    assert state(app, person)[0] == "confirm"
    person.tap("送信")
    sent = submissions(app, "childcare")[0]["answers"]
    assert (sent["date"], sent["start_time"], sent["hours"]) == (day.isoformat(), "11:00", 6)


def test_consultation_turn_by_turn_refuses_weekends_and_the_same_day_twice(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("apply")
    person.tap("子育て相談の予約")
    person.tap("発達・成長")
    person.tap("スキップ")
    assert state(app, person)[0] == "first_date"

    monday = TODAY - timedelta(days=TODAY.weekday()) + timedelta(days=7)
    person.say("来週の月曜日")
    assert state(app, person)[0] == "second_date"
    assert state(app, person)[1]["first_date"] == monday.isoformat()

    person.pick_date(monday)
    assert person.texts()[-2] == (f"⚠️ 「第1希望日」（{monday.isoformat()}）とは別のものを"
                                  "選んでください。")
    assert state(app, person)[0] == "second_date"

    person.pick_date(SUNDAY)
    assert person.texts()[-2] == "⚠️ 日曜日は休みです。別の日を選んでください。"
    saturday = SUNDAY - timedelta(days=1)
    if saturday > TODAY:
        person.say(f"{saturday.month}月{saturday.day}日")
        assert person.texts()[-2] == "⚠️ 土曜日は休みです。別の日を選んでください。"
    assert state(app, person)[0] == "second_date"

    person.say("来週火曜")
    assert state(app, person)[1]["second_date"] == (monday + timedelta(days=1)).isoformat()

    # The multi-choice asks to tap "Done" only once it is there.
    assert state(app, person)[0] == "time_of_day" and "決定" not in person.labels()
    assert person.last() == ("都合のよい時間帯はどれですか？（複数可）\n当てはまるものをタップして"
                             "ください（複数可）。1つ選ぶと「決定」ボタンが表示されます。")
    person.tap("午前")
    assert "決定" in person.labels()
    assert person.last().endswith("選択中：午前。選び終わったら「決定」を押してください"
                                  "（もう一度タップすると外せます）。")
    person.tap("決定")
    person.tap("LINE")
    assert state(app, person)[0] == "confirm"

    # Moving the first choice onto the second asks for the second again.
    person.tap("修正する")
    person.tap("第1希望日")
    person.say("来週火曜")
    assert person.texts()[-2].startswith("⚠️ 「第2希望日」をもう一度答えてください：「第1希望日」")
    step, answers = state(app, person)
    assert step == "second_date" and "second_date" not in answers
    person.tap("スキップ")
    person.tap("送信")
    sent = submissions(app, "consultation")[0]["answers"]
    assert sent["first_date"] == (monday + timedelta(days=1)).isoformat()
    assert sent["second_date"] is None and sent["time_of_day"] == ["morning"]


# A date checked against the calendar of the place chosen before it (a center)


@pytest.fixture
def centers_source():
    """Make sure the "centers" option source exists (the residents feature may add it)."""
    from sqlalchemy import select

    from bot.flows import hooks
    from bot.flows.schema import Option
    from models import Center

    def centers(session):
        rows = session.scalars(select(Center).where(Center.active).order_by(Center.id))
        return [Option(c.code, {"ja": c.name_ja, "en": c.name_en}) for c in rows]

    added = "centers" not in hooks.OPTION_SOURCES
    hooks.OPTION_SOURCES.setdefault("centers", centers)
    yield
    if added:
        hooks.OPTION_SOURCES.pop("centers")


def test_a_day_the_chosen_center_is_closed_is_refused(city, line, app, rules_form,
                                                      centers_source):
    from tests.checkin_support import center_update

    closed = open_day(TODAY + timedelta(days=3))
    center_update(app, "central", closed_days=[closed.isoformat()])
    form = rules_form([field("center", "choice", options_from="centers"),
                       field("day", "date", min_date="+1d", open_at="center")])
    person = Resident(line)
    person.postback(ApplyForm(form.id).pack())
    person.tap("中央子育て支援センター")
    person.pick_date(closed)
    assert person.texts()[-2] == (f"⚠️ {closed.isoformat()}は中央子育て支援センターの休館日です。"
                                  "別の日を選んでください。")
    person.pick_date(SUNDAY)  # the seeded centers have no hours on Sundays
    assert person.texts()[-2].startswith(f"⚠️ {SUNDAY.isoformat()}は中央子育て支援センター")
    person.tap("◀ 戻る")  # back to the center: the east center is open that day
    person.tap("東子育て支援センター")
    person.pick_date(closed)
    assert conversation(app, person.user_id)[0]["step"] == "confirm"
    # Changing the center to one closed that day asks for the day again.
    person.tap("修正する")
    person.tap("center")
    person.tap("中央子育て支援センター")
    assert person.texts()[-2] == (f"⚠️ 「day」をもう一度答えてください：{closed.isoformat()}は"
                                  "中央子育て支援センターの休館日です。別の日を選んでください。")
    state = conversation(app, person.user_id)[0]
    assert state["step"] == "day" and state["answers"] == {"center": "central"}


def test_open_at_needs_an_earlier_choice_with_a_calendar():
    with pytest.raises(FormError) as error:
        form_from_data(form_with(field("where", "text"), field("d", "date", open_at="where")),
                       "rules.yaml")
    assert "open_at 'where' is not an earlier choice whose options_from has a calendar" \
        in str(error.value)
