"""Applications through the emulator: childcare, consultation, anonymous survey, receipts,
and staff status changes reaching the resident exactly once through the outbox."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot import flex
from models import OutboxMessage, utcnow
from models.application import StatusChange, Submission, SubmissionStatus
from models.survey import SurveyAnswer
from residents import applications
from residents.applications import Scope
from residents.chat import ApplyForm
from tests.chat import Resident, card_rows
from tests.flows_helpers import query, register, seed_city, submissions

TODAY = utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()
# Childcare is closed on Sundays, consultations on weekends: the tests pick days they take.
CHILDCARE_DAY = TODAY + timedelta(days=7 if TODAY.weekday() != 6 else 8)
CONSULTATION_DAY = TODAY + timedelta(days=2 if TODAY.weekday() in (0, 1, 2, 6) else 4)
RECEIPT = re.compile(r"^[ACS]-\d{4}-\d{6}$")


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    return live_app


def childcare(person: Resident, child: str | None = "山田太郎",
              center: str = "中央子育て支援センター") -> None:
    """Send the childcare request; the child is asked only when there are several."""
    person.menu("apply")
    person.tap("一時預かりの申し込み")
    if child:
        person.tap(child)
    person.tap(center)
    person.pick_date(CHILDCARE_DAY)
    person.pick_time("09:00")
    person.say("3")
    person.tap("仕事")
    person.tap("スキップ")
    person.tap("送信")


@pytest.mark.http  # end to end over real HTTP; the file's other chat tests run in-process
def test_childcare_request_prefilled_for_a_registered_resident(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.typed = person.taps = 0
    childcare(person, child=None)  # one child: prefilled, like the phone number
    assert person.typed == 1 and person.taps == 8
    sent = submissions(app, "childcare")
    assert len(sent) == 1 and RECEIPT.match(sent[0]["receipt"])
    assert sent[0]["receipt"].startswith(f"A-{TODAY.year}-")
    answers = sent[0]["answers"]
    assert answers["child"]["name"] == "山田太郎" and answers["contact_phone"] == "09012345678"
    assert answers["center"] == "central" and sent[0]["center"] == "central"
    assert answers["date"] == str(CHILDCARE_DAY) and answers["hours"] == 3
    assert answers["notes"] is None and "reason_detail" not in answers
    assert person.last() == (f"送信しました。受付番号は{sent[0]['receipt']}です。"
                             "状況が変わったらこちらでお知らせします。")


def test_childcare_with_two_children_asks_which_and_the_conditional_reason(city, line, app):
    person = Resident(line)
    register(person, children=2)
    person.menu("apply")
    person.tap("一時預かりの申し込み")
    assert person.labels()[:2] == ["山田太郎", "山田次郎"]
    person.tap("山田次郎")
    assert person.labels()[:3] == ["中央子育て支援センター", "東子育て支援センター",
                                   "西子育て支援センター"]
    person.tap("東子育て支援センター")
    person.pick_date(CHILDCARE_DAY)
    person.say("10:30")
    person.say("9")
    assert person.texts()[-2] == "⚠️ 1から8までの数字を送ってください。"
    person.say("8")
    assert person.texts()[-2] == ("⚠️ 終了が18:30になり、17:00の終了時刻を過ぎます。"
                                  "6時間以内で選んでください。")
    person.say("6")
    person.tap("その他")
    assert person.last() == "理由を具体的に教えてください。"
    person.say("上の子の行事のため")
    person.tap("スキップ")
    summary = person.last()
    assert "・お子さん: 山田次郎" in summary and "・理由の詳細: 上の子の行事のため" in summary
    person.tap("修正する")
    person.tap("理由")
    person.tap("仕事")  # the detail question no longer applies
    assert "理由の詳細" not in person.last()
    person.tap("送信")
    answers = submissions(app, "childcare")[0]["answers"]
    assert answers["reason"] == "work" and "reason_detail" not in answers


def test_application_needs_registration(city, line, app):
    person = Resident(line)
    person.postback(ApplyForm("childcare").pack())
    assert person.last() == "先に利用者登録をしてください。メニューの「登録」を押してください。"


def test_consultation_with_multichoice_and_conditional_contact(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("apply")
    person.tap("子育て相談の予約")
    person.tap("発達・成長")
    person.say("言葉が遅い気がします")
    person.pick_date(CONSULTATION_DAY)
    person.tap("スキップ")
    person.tap("午前")
    person.tap("夕方")
    person.tap("決定")
    person.tap("メール")
    person.say("hanako@example.jp")
    person.tap("送信")
    answers = submissions(app, "consultation")[0]["answers"]
    assert answers["time_of_day"] == ["morning", "evening"]
    assert answers["email"] == "hanako@example.jp" and "phone" not in answers
    assert answers["second_date"] is None
    assert submissions(app, "consultation")[0]["receipt"].startswith("C-")


def test_survey_is_stored_without_any_link_to_the_resident(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("apply")
    person.tap("満足度アンケート")
    person.tap("満足")
    person.tap("東")
    person.tap("決定")
    person.tap("はい")
    person.say("駐車場を広くしてほしい")
    person.tap("送信")
    assert person.last() == "ご回答ありがとうございました。回答はお名前と結び付けずに保存しました。"
    assert submissions(app, "survey") == []  # never under a sequential id or receipt number
    stored = query(app, lambda s: [(a.id, a.answers, a.answered_on)
                                   for a in s.scalars(select(SurveyAnswer))])
    assert len(stored) == 1 and str(uuid.UUID(stored[0][0])) == stored[0][0]
    assert stored[0][1] == {"satisfaction": "4", "centers": ["east"], "recommend": True,
                            "comment": "駐車場を広くしてほしい"}
    assert stored[0][2] == TODAY  # a date, no time of day
def test_receipt_numbers_count_up_per_prefix(city, line, app):
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)
    childcare(person, child=None)
    receipts = [s["receipt"] for s in submissions(app, "childcare")]
    assert [int(r[-6:]) for r in receipts] == [1, 2]


def test_concurrent_receipts_never_collide(app):
    """Many transactions take numbers at once; every number is different."""
    import threading

    if app.config["DATABASE_URL"].startswith("sqlite"):
        workers = 4
    else:
        workers = 8
    numbers: list[str] = []

    def take() -> None:
        with app.app_context():
            from cityhall.db import db
            for _ in range(5):
                with db.transaction() as session:
                    numbers.append(applications.next_receipt_no(session, "Z", 2026))

    threads = [threading.Thread(target=take) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(numbers) == workers * 5 and len(set(numbers)) == len(numbers)


def staff_change(app, receipt: str, status: str, comment: str | None = None):
    def change(session):
        submission = session.scalars(select(Submission).where(Submission.receipt_no == receipt)).one()
        applications.change_status(session, submission, SubmissionStatus(status), comment,
                                   utcnow(), changed_by="tanaka")
    return query(app, change)


def drain(app) -> None:
    with app.app_context():
        from bot import worker
        from bot.gateway import gateway
        from cityhall.db import db
        worker.drain(db.session, gateway())


def test_status_change_reaches_the_resident_once(city, line, app):
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)
    receipt = submissions(app, "childcare")[0]["receipt"]
    staff_change(app, receipt, "in_review")
    staff_change(app, receipt, "returned", "利用日の前日までにお電話ください。")
    drain(app)
    drain(app)  # a second worker pass sends nothing again
    cards = [r["message"] for r in line.received(person.user_id) if r["via"] == "push"]
    assert [c["altText"] for c in cards] == [
        f"「一時預かりの申し込み」（受付番号 {receipt}）の状況：審査中",
        f"「一時預かりの申し込み」（受付番号 {receipt}）の状況：差し戻し\n"
        "市からのメッセージ：利用日の前日までにお電話ください。",
    ]
    # Each push is a card: the application, its receipt number and the new status in rows.
    assert [card_rows(c)["現在の状況"] for c in cards] == ["審査中", "差し戻し"]
    assert {card_rows(c)["受付番号"] for c in cards} == {receipt}
    assert "利用日の前日までにお電話ください。" in flex.texts(cards[1])
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(StatusChange))) == 2


def test_status_rules(city, line, app):
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)
    receipt = submissions(app, "childcare")[0]["receipt"]
    with pytest.raises(applications.StatusError, match="needs a reason"):
        staff_change(app, receipt, "returned", "  ")
    staff_change(app, receipt, "done")
    with pytest.raises(applications.StatusError, match="cannot change done to approved"):
        staff_change(app, receipt, "approved")
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(OutboxMessage))) == 1


def test_inbox_services_list_and_describe_by_department(city, line, app):
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)

    def inbox(session):
        mine = applications.list_submissions(session, Scope(departments=frozenset({"childcare"})))
        other = applications.list_submissions(session, Scope(departments=frozenset({"roads"})))
        hidden = applications.get_submission(session, mine[0].id,
                                             Scope(departments=frozenset({"roads"})))
        rows = applications.answer_rows(session, mine[0], "ja")
        counts = applications.count_by_status(session, Scope(departments=frozenset({"childcare"})))
        return len(mine), other, hidden, [(r.label, r.value) for r in rows], counts
    count, other, hidden, rows, counts = query(app, inbox)
    assert count == 1 and other == [] and hidden is None
    assert ("お子さん", "山田太郎") in rows and ("理由", "仕事") in rows and ("連絡事項", "—") in rows
    assert counts == {"received": 1}


def test_deleting_the_registration_blanks_submissions_but_keeps_counts(city, line, app):
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)
    person.menu("mydata")
    person.tap("削除する")
    person.tap("削除する")
    stored = submissions(app, "childcare")[0]
    assert stored["answers"] == {} and stored["resident_id"] is None
    assert stored["status"] == SubmissionStatus.RECEIVED
