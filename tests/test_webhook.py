"""POST /callback: signature, parsing, dedup, per-event transactions, follow and unfollow."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from sqlalchemy import func, select

from bot import dispatch
from bot.chat import ChooseLanguage
from models import ProcessedEvent, Resident
from tests.builders import event, new_user_id, post_webhook, sign, text_event

# The webhook's own tests: every hop over real HTTP, never the in-process driver.
pytestmark = pytest.mark.http


def count(session, model) -> int:
    # Each read ends its transaction: on SQLite an open one would hold the write lock.
    with session.begin():
        return session.scalar(select(func.count()).select_from(model))


def resident(session, user_id: str) -> Resident | None:
    with session.begin():
        session.expire_all()
        return session.scalars(select(Resident).where(Resident.line_user_id == user_id)).first()


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "not base64 !"])
def test_bad_or_missing_signature_is_refused_and_changes_nothing(live_app, line, db_session,
                                                                 signature):
    user = new_user_id()
    response = post_webhook(live_app.url, {"events": [text_event(user, "hello")]},
                            signature=signature)
    assert response.status_code == 400
    assert count(db_session, ProcessedEvent) == 0
    assert count(db_session, Resident) == 0
    assert line.received(user) == []


def test_signature_over_other_bytes_is_refused(live_app, db_session):
    body = json.dumps({"events": [text_event(new_user_id(), "hello")]}).encode()
    response = post_webhook(live_app.url, body, signature=sign(body + b" "))
    assert response.status_code == 400
    assert count(db_session, ProcessedEvent) == 0


def test_verify_button_empty_events_gets_200(live_app):
    response = post_webhook(live_app.url, {"destination": "U" + "0" * 32, "events": []})
    assert response.status_code == 200


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe\x00", "not JSON"),
    (b"[]", "no 'events' list"),
    (b'{"destination": "U1"}', "no 'events' list"),
    (b'{"events": {"type": "follow"}}', "no 'events' list"),
    (b'{"events": ["follow"]}', "not a JSON object"),
])
def test_malformed_body_gets_400_with_a_logged_reason(live_app, caplog, body, reason):
    with caplog.at_level(logging.WARNING, logger="bot.webhook"):
        response = post_webhook(live_app.url, body)
    assert response.status_code == 400
    assert reason in caplog.text
    # The server keeps serving.
    assert post_webhook(live_app.url, {"events": []}).status_code == 200


def test_follow_creates_resident_from_profile_and_greets_with_language_choice(live_app, line,
                                                                             db_session):
    user = line.create_user(display_name="山田花子", language="ja")["userId"]
    result = line.follow(user)
    assert result["status"] == 200
    stored = resident(db_session, user)
    assert stored.display_name == "山田花子"
    assert stored.language == "ja" and not stored.blocked
    received = line.received(user)
    assert [r["via"] for r in received] == ["reply", "reply"]
    assert "山田花子" in received[0]["message"]["text"]
    choice = received[1]["message"]
    labels = [item["action"]["label"] for item in choice["quickReply"]["items"]]
    assert labels[:3] == ["日本語", "やさしい にほんご", "English"] and len(labels) == 10


def test_profile_language_english_greets_in_english(live_app, line, db_session):
    user = line.create_user(display_name="Alex", language="en")["userId"]
    line.follow(user)
    assert resident(db_session, user).language == "en"
    assert "Welcome to Smartphone City Hall, Alex!" in line.texts(user)[0]


def test_language_choice_postback_switches_language(live_app, line, db_session):
    user = line.create_user(display_name="Alex", language="ja")["userId"]
    line.follow(user)
    line.send_postback(user, ChooseLanguage("en").pack())
    stored = resident(db_session, user)
    assert stored.language == "en" and stored.language_chosen
    assert line.texts(user)[-1] == "I will talk to you in English from now on."
    line.send_postback(user, ChooseLanguage("ja").pack())
    assert line.texts(user)[-1] == "これから日本語でお話しします。"


def test_unknown_language_and_stale_postback_get_an_answer(live_app, line):
    user = line.create_user(display_name="A")["userId"]
    line.follow(user)
    line.send_postback(user, ChooseLanguage("xx").pack())
    line.send_postback(user, "action=gone")
    texts = line.texts(user)
    assert texts[-2] == "申し訳ありません。その言語にはまだ対応していません。"
    assert texts[-1] == "申し訳ありません。このボタンはもう使えません。"


def test_unfollow_blocks_and_refollow_reactivates(live_app, line, db_session):
    user = line.create_user(display_name="佐藤")["userId"]
    line.follow(user)
    line.unfollow(user)
    stored = resident(db_session, user)
    assert stored.blocked and stored.blocked_at is not None
    assert stored.display_name == "佐藤"  # nothing deleted
    line.follow(user, unblocked=True)
    stored = resident(db_session, user)
    assert not stored.blocked and stored.blocked_at is None
    assert "おかえりなさい" in line.texts(user)[-2]


def test_redelivered_event_has_no_second_effect(live_app, line, db_session):
    user = line.create_user(display_name="鈴木")["userId"]
    first = line.follow(user)
    again = line.redeliver(first["webhookEventIds"][0])
    assert again["status"] == 200
    assert len(line.received(user)) == 2  # greeting + language choice, once
    assert count(db_session, ProcessedEvent) == 1


def test_simultaneous_duplicate_deliveries_take_effect_once(live_app, line, db_session):
    user = line.create_user(display_name="高橋")["userId"]
    # Slow profile answers keep the first transaction open while the duplicate arrives.
    line.add_fault("/v2/bot/profile", delay=0.4, count=2)
    body = json.dumps({"events": [event("follow", user, follow={"isUnblocked": False})]}).encode()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def deliver() -> None:
        barrier.wait()
        statuses.append(post_webhook(live_app.url, body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert statuses == [200, 200]
    assert count(db_session, ProcessedEvent) == 1
    assert count(db_session, Resident) == 1
    # The reply token was made up by the test, so the answer goes by push through the outbox.
    from cityhall.db import db  # noqa: F401
    from models import OutboxMessage
    assert count(db_session, OutboxMessage) == 1


def test_failing_handler_rolls_back_its_event_only(live_app, line, db_session, caplog,
                                                   monkeypatch):
    original = dispatch._event_handlers["message"]

    def explode_on_boom(ctx):
        original(ctx)  # creates the resident, then fails
        if ctx.raw["message"].get("text") == "boom":
            raise RuntimeError("handler bug")

    monkeypatch.setitem(dispatch._event_handlers, "message", explode_on_boom)
    bad_user, good_user = new_user_id(), new_user_id()
    bad = text_event(bad_user, "boom")
    with caplog.at_level(logging.ERROR, logger="bot.webhook"):
        response = post_webhook(live_app.url, {"events": [bad, text_event(good_user, "hi")]})
    assert response.status_code == 200
    assert f"handler failed for event {bad['webhookEventId']}" in caplog.text
    assert resident(db_session, bad_user) is None
    assert resident(db_session, good_user) is not None
    with db_session.begin():
        ids = set(db_session.scalars(select(ProcessedEvent.webhook_event_id)))
    assert bad["webhookEventId"] not in ids and len(ids) == 1


def test_unknown_event_type_is_acknowledged_and_logged(live_app, db_session, caplog):
    strange = event("membership", new_user_id(), membership={"type": "joined"})
    with caplog.at_level(logging.INFO):
        response = post_webhook(live_app.url, {"events": [strange]})
    assert response.status_code == 200
    assert "unhandled event type 'membership'" in caplog.text
    assert count(db_session, ProcessedEvent) == 1


def test_text_from_unknown_user_creates_resident_and_gets_help(live_app, line, db_session):
    user = line.create_user(display_name="田中")["userId"]
    line.send_text(user, "こんにちは")
    assert resident(db_session, user) is not None
    assert "メニュー" in line.texts(user)[-1]
    line.send_text(user, "言語")
    labels = [i["action"]["label"] for i in line.received(user)[-1]["message"]["quickReply"]["items"]]
    assert "English" in labels and "Tiếng Việt" in labels


def test_failed_reply_is_pushed_through_the_outbox(live_app, line, app, db_session):
    user = line.create_user(display_name="伊藤")["userId"]
    line.add_fault("/v2/bot/message/reply", status=500, count=1)
    line.send_text(user, "こんにちは")
    assert line.received(user) == []
    with app.app_context():
        from bot import worker
        from bot.gateway import gateway
        from cityhall.db import db

        worker.drain(db.session, gateway())
    received = line.received(user)
    assert [r["via"] for r in received] == ["push"]
    assert "メニュー" in received[0]["message"]["text"]


@pytest.mark.parametrize("token_valid, via", [(True, ["reply"] * 5 + ["push"] * 2),
                                              (False, ["push"] * 7)])
def test_replies_beyond_five_or_a_refused_reply_go_by_push_in_order(app, line, token_valid, via):
    from bot import worker
    from bot.context import EventContext
    from bot.gateway import gateway
    from bot.webhook import send_reply
    from cityhall.db import db
    from models import utcnow

    user = line.create_user(display_name="多")["userId"]
    raw = text_event(user, "x")
    if token_valid:
        line.issue_reply_tokens(user, [raw["replyToken"]])
    with app.app_context():
        ctx = EventContext(session=None, event=None, raw=raw, now=utcnow(),
                           replies=[{"type": "text", "text": f"{i}"} for i in range(7)])
        send_reply(ctx)
        worker.drain(db.session, gateway())
    received = line.received(user)
    assert [r["via"] for r in received] == via
    assert [r["message"]["text"] for r in received] == [str(i) for i in range(7)]


def test_a_slow_profile_does_not_hold_the_answer(live_app, line, db_session):
    user = line.create_user(display_name="遅い")["userId"]
    # Slower than the webhook read timeout: the greeting goes out without the name.
    line.add_fault("/v2/bot/profile", delay=1.6, count=1)
    assert line.follow(user)["status"] == 200
    assert line.texts(user)[0].startswith("スマホ市役所へようこそ！")
    stored = resident(db_session, user)
    assert stored is not None and stored.display_name is None
