"""Control characters never reach the database: refused at the field, with the reason.

NUL (which PostgreSQL cannot store: "Send" used to fail on every try), C0/C1 controls and
terminal escapes, and bidi overrides that reorder what staff read. Every text-based field
type reads through the same check; newlines pass only where a field takes several lines.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.flows.fields import Input, Invalid, clean_text, control_problem, typed
from models import Resident as ResidentRow
from tests.chat import Resident
from tests.flows_helpers import conversation, query, submissions
from tests.test_form_fields import OPTIONS, field_form, start  # noqa: F401

CONTROL = "見えない制御文字（{}）を除いて、もう一度送ってください。"
BIDI = "文字の向きを変える制御文字（{}）を除いて、もう一度送ってください。"
ONE_LINE = "1行で入力してください。"

BAD = [
    ({"type": "text"}, "山田\x00花子", CONTROL.format("U+0000")),
    ({"type": "text"}, "\u202e子花田山", BIDI.format("U+202E")),
    ({"type": "text"}, "Hana\u202aX", BIDI.format("U+202A")),
    ({"type": "text"}, "Hana\u2066ko\u2069", BIDI.format("U+2066")),
    ({"type": "text"}, "\x1b[31mRed\x1b[0m", CONTROL.format("U+001B")),
    ({"type": "text"}, "esc\x9b31m", CONTROL.format("U+009B")),
    ({"type": "text"}, "bell\x07", CONTROL.format("U+0007")),
    ({"type": "text"}, "tab\there", CONTROL.format("U+0009")),
    ({"type": "text"}, "del\x7f", CONTROL.format("U+007F")),
    ({"type": "text"}, "一行目\n二行目", ONE_LINE),
    ({"type": "longtext"}, "一行目\n二行目\x00", CONTROL.format("U+0000")),
    ({"type": "longtext"}, "右から\u202e左へ", BIDI.format("U+202E")),
    ({"type": "kana"}, "ヤマダ\x00", CONTROL.format("U+0000")),
    ({"type": "phone"}, "090-1234-5678\x00", CONTROL.format("U+0000")),
    ({"type": "number", "min": 1, "max": 8}, "3\u202e", BIDI.format("U+202E")),
    ({"type": "email"}, "hanako@example.jp\x1b", CONTROL.format("U+001B")),
    ({"type": "choice", "options": OPTIONS}, "りんご\x00", CONTROL.format("U+0000")),
    ({"type": "multichoice", "options": OPTIONS}, "りんご\nなし\x00", CONTROL.format("U+0000")),
    ({"type": "yesno"}, "はい\u2067", BIDI.format("U+2067")),
    ({"type": "date"}, "2026-04-01\x00", CONTROL.format("U+0000")),
]


@pytest.mark.parametrize("spec, sent, message", BAD,
                         ids=[f"{s['type']}-{i}" for i, (s, _, _) in enumerate(BAD)])
def test_control_characters_are_refused_at_the_field(live_app, line, app, field_form,
                                                     spec, sent, message):
    form = field_form(**spec)
    person = Resident(line)
    start(person, form.id)
    person.say(sent)
    texts = person.texts()
    assert texts[-2] == "⚠️ " + message
    assert texts[-1].startswith("項目を送ってください。")
    after = conversation(app, person.user_id)[0]
    assert after["step"] == "x" and after["answers"] == {}


def test_after_a_refused_nul_a_clean_answer_is_sent(live_app, line, app, field_form):
    """On PostgreSQL the NUL used to be stored in the draft and "Send" failed forever."""
    form = field_form(type="text")
    person = Resident(line)
    start(person, form.id)
    person.say("山田\x00花子")
    assert person.texts()[-2] == "⚠️ " + CONTROL.format("U+0000")
    person.say("山田花子")
    person.tap("送信")
    assert [s["answers"] for s in submissions(app, form.id)] == [{"x": "山田花子"}]


def test_english_resident_gets_the_reason_in_english(live_app, line, app, field_form):
    form = field_form(type="text")
    person = Resident(line, language="en")
    person.follow()
    start(person, form.id)
    person.say("Hana\u202eko")
    assert person.texts()[-2] == ("⚠️ Please send it again without the text-direction control "
                                  "character U+202E.")


def test_multi_line_text_keeps_its_lines_with_windows_line_ends_folded(live_app, line, app,
                                                                       field_form):
    form = field_form(type="longtext")
    person = Resident(line)
    start(person, form.id)
    person.say("一行目\r\n二行目")
    assert conversation(app, person.user_id)[0]["answers"] == {"x": "一行目\n二行目"}


def test_a_line_end_after_a_one_line_answer_is_harmless(live_app, line, app, field_form):
    form = field_form(type="text")
    person = Resident(line)
    start(person, form.id)
    person.say("山田花子\n")
    assert conversation(app, person.user_id)[0]["answers"] == {"x": "山田花子"}


def test_a_display_name_from_line_is_stored_without_controls(live_app, line, app):
    person = Resident(line, name="花\u202e子\x00\x1b[2J")
    person.follow()

    def name(session):
        return session.scalars(select(ResidentRow.display_name)
                               .where(ResidentRow.line_user_id == person.user_id)).one()

    assert query(app, name) == "花子[2J"


@pytest.mark.parametrize("text, multiline, char", [
    ("a\x00", False, "U+0000"), ("a\x1f", True, "U+001F"), ("a\x85", True, "U+0085"),
    ("a\ud800", False, "U+D800"), ("a\u2069", True, "U+2069"), ("a\u202c", False, "U+202C"),
])
def test_every_control_is_named_in_the_reason(text, multiline, char):
    problem = control_problem(text, multiline)
    assert problem is not None and problem.variables == {"char": char}


@pytest.mark.parametrize("text", ["山田 花子", "O'Brien", "José", "👨‍👩‍👧", "ヤマダ・ハナコ",
                                  "\u200dzero width joiner in emoji"])
def test_ordinary_text_passes(text):
    assert clean_text(text) == text


def test_a_forged_postback_value_goes_through_the_same_check():
    with pytest.raises(Invalid) as refused:
        typed(Input("postback", value="x\x00"))
    assert refused.value.variables == {"char": "U+0000"}
