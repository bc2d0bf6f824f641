"""A Hypothesis state machine throws valid, invalid, stale and duplicate inputs at a form
through the emulator, and checks every submission holds every required answer, valid,
exactly once."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from bot.flows.registry import forms
from bot.flows.taps import FormTap
from bot.flows.schema import form_from_data
from models import Resident as ResidentRow
from models import utcnow
from models.application import Submission
from models.conversation import Conversation
from residents.chat import ApplyForm
from tests.flows_helpers import query

TODAY = utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()


def text(ja: str) -> dict[str, str]:
    return {"ja": ja, "en": ja}


FORM = {
    "id": "prop", "title": text("性質テスト"), "department": "childcare", "receipt_prefix": "P",
    "menu": True,
    "fields": [
        {"id": "name", "type": "text", "max_length": 10, "label": text("名前"), "prompt": text("名前？")},
        {"id": "count", "type": "number", "min": 1, "max": 5, "required": False,
         "label": text("数"), "prompt": text("数？")},
        {"id": "kind", "type": "choice", "label": text("種類"), "prompt": text("種類？"),
         "options": [{"value": "a", "ja": "エー", "en": "A"}, {"value": "b", "ja": "ビー", "en": "B"}]},
        {"id": "detail", "type": "text", "max_length": 10, "when": {"field": "kind", "equals": "b"},
         "label": text("詳細"), "prompt": text("詳細？")},
        {"id": "day", "type": "date", "min_date": "+1d", "max_date": "+30d", "label": text("日"),
         "prompt": text("日？")},
        {"id": "ok", "type": "yesno", "label": text("確認"), "prompt": text("よい？")},
    ],
}
VALID = {"name": ["花子", "Taro"], "count": ["1", "5", "３"], "kind": ["a", "b", "エー", "ビー"],
         "detail": ["くわしく"], "day": [str(TODAY + timedelta(days=1)), str(TODAY + timedelta(days=30))],
         "ok": ["はい", "いいえ"]}
INVALID = {"name": ["とても長い名前をここに書きます"], "count": ["9", "0", "many"], "kind": ["c"],
           "detail": ["長すぎる詳細の説明です。"], "day": ["2000-01-01", "昨日"],
           "ok": ["たぶん"], "confirm": ["どうしよう"]}


def check_submission(answers: dict) -> None:
    """Assert a stored submission is complete and valid for FORM."""
    assert isinstance(answers["name"], str) and 0 < len(answers["name"]) <= 10
    assert answers["count"] is None or 1 <= answers["count"] <= 5
    assert answers["kind"] in ("a", "b")
    assert ("detail" in answers) == (answers["kind"] == "b")
    if answers["kind"] == "b":
        assert 0 < len(answers["detail"]) <= 10
    day = date.fromisoformat(answers["day"])
    assert TODAY + timedelta(days=1) <= day <= TODAY + timedelta(days=30)
    assert answers["ok"] in (True, False)


class FormMachine(RuleBasedStateMachine):
    """One resident; the model counts the sends that should become submissions."""

    line = None
    app = None

    def __init__(self) -> None:
        super().__init__()
        self.user = self.line.create_user(display_name="性質")["userId"]
        self.expected = 0
        self.sent: list[str] = []
        self.last_event: str | None = None

    # Reading the database

    def conversation(self) -> dict | None:
        def read(session):
            row = session.scalars(select(Conversation).join(ResidentRow)
                                  .where(ResidentRow.line_user_id == self.user)).first()
            return None if row is None else {"nonce": row.nonce, "step": row.step,
                                             "status": row.status, "answers": row.answers,
                                             "draft": row.draft}
        return query(self.app, read)

    def stored(self) -> list[dict]:
        def read(session):
            rows = session.scalars(select(Submission).join(ResidentRow)
                                   .where(ResidentRow.line_user_id == self.user))
            return [s.answers for s in rows]
        return query(self.app, read)

    # Sending

    def post(self, op: str, value: str | None = None, nonce: int | None = None) -> None:
        conv = self.conversation()
        self.send_postback(FormTap("prop", nonce if nonce is not None else
                                   (conv["nonce"] if conv else 0), op, value).pack())

    def send_postback(self, data: str) -> None:
        conv = self.conversation()
        tap = FormTap.unpack(data) if data.startswith(FormTap.prefix + ":") else None
        if (conv and tap and tap.op == "send" and conv["nonce"] == tap.nonce
                and conv["step"] == "confirm" and conv["status"] == "active"
                and not conv["draft"]):
            self.expected += 1
        self.sent.append(data)
        self.last_event = self.line.send_postback(self.user, data)["webhookEventIds"][0]

    def say(self, body: str) -> None:
        self.last_event = self.line.send_text(self.user, body)["webhookEventIds"][0]

    # Rules

    @rule()
    def start(self) -> None:
        self.send_postback(ApplyForm("prop").pack())

    @rule(data=st.data(), run=st.integers(1, 7))
    def answer_valid(self, data, run: int) -> None:
        """Answer up to `run` questions in a row correctly (reaching the summary needs six)."""
        for _ in range(run):
            conv = self.conversation()
            if not conv or conv["step"] not in VALID:
                return
            self.say(data.draw(st.sampled_from(VALID[conv["step"]])))

    @rule()
    def finish(self) -> None:
        """Start or resume, answer whatever is left correctly and tap Send (walks reach the end)."""
        conv = self.conversation()
        if not conv or conv["status"] != "active":
            self.send_postback(ApplyForm("prop").pack())
        for _ in range(8):
            conv = self.conversation()
            if not conv or conv["step"] not in VALID:
                break
            self.say(VALID[conv["step"]][0])
        self.post("send")

    @rule(data=st.data())
    def answer_invalid(self, data) -> None:
        conv = self.conversation()
        if conv and conv["step"] in INVALID:
            before = conv["answers"]
            self.say(data.draw(st.sampled_from(INVALID[conv["step"]])))
            after = self.conversation()
            assert after["answers"] == before and after["step"] == conv["step"]

    @rule(word=st.sampled_from(["戻る", "スキップ"]))
    def control_word(self, word: str) -> None:
        self.say(word)

    @rule(op=st.sampled_from(["back", "skip", "send", "send", "edit"]))
    def tap(self, op: str) -> None:
        self.post(op)

    @rule(path=st.sampled_from(["name", "count", "kind", "day"]))
    def pick_edit(self, path: str) -> None:
        self.post("pick", path)

    @rule(data=st.data())
    def stale(self, data) -> None:
        if self.sent:
            self.send_postback(data.draw(st.sampled_from(self.sent)))

    @rule()
    def duplicate(self) -> None:
        if self.last_event:
            conv, count = self.conversation(), len(self.stored())
            self.line.redeliver(self.last_event)
            assert self.conversation() == conv and len(self.stored()) == count

    @rule()
    def cancel(self) -> None:
        self.say("キャンセル")

    @invariant()
    def submissions_are_complete_valid_and_once(self) -> None:
        stored = self.stored()
        assert len(stored) == self.expected
        for answers in stored:
            check_submission(answers)


@pytest.fixture
def prop_form():
    forms().add(form_from_data(FORM, "test"))
    yield
    forms().remove("prop")


def test_random_inputs_never_break_a_form(live_app, line, app, prop_form):
    FormMachine.line, FormMachine.app = line, app
    run_state_machine_as_test(FormMachine, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
    # The random walks did reach the end of the form, not only its first questions.
    sent = query(app, lambda s: s.scalars(select(Submission).where(Submission.form_id == "prop")).all())
    assert len(sent) > 0
