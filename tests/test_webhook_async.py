"""The webhook's acknowledged path: record, answer 200, process on the pool; crash recovery.

The test configuration processes events inline (before the 200); these tests switch the
app to the pool, as production runs, and go over real HTTP. A crash between the 200 and the
processing is played by recording events without processing them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import webhook
from bot.eventpool import EventPool
from bot.worker import Pacer, Sender, drain
from cityhall.cli import main
from cityhall.db import db
from models import OutboxMessage, OutboxStatus, ProcessedEvent, Resident, utcnow
from tests.builders import post_webhook, text_event
from tests.conftest import process_env

PUSH = "/v2/bot/message/push"


@pytest.fixture
def pooled(app):
    """The app processing events on its pool, as in production."""
    app.config["WEBHOOK_PROCESS_INLINE"] = False
    yield app
    webhook.shutdown_pool(app)


def pending_rows(app) -> list[ProcessedEvent]:
    with app.app_context(), db.session() as session:
        return list(session.scalars(select(ProcessedEvent).where(ProcessedEvent.pending)))


def residents(app) -> int:
    with app.app_context(), db.session() as session:
        return session.scalar(select(func.count()).select_from(Resident))


def test_events_are_answered_once_after_the_200_through_the_pool(pooled, live_app, line):
    users = [line.create_user(display_name=f"利用者{i}")["userId"] for i in range(6)]
    events = [text_event(user, f"こんにちは {n}") for n in range(3) for user in users]
    for e in events:
        line.issue_reply_tokens(e["source"]["userId"], [e["replyToken"]])
    # Two events per delivery, deliveries sent at once from three threads.
    bodies = [{"events": events[i:i + 2]} for i in range(0, len(events), 2)]
    statuses: list[int] = []
    barrier = threading.Barrier(3)

    def deliver(part: list[dict]) -> None:
        barrier.wait()
        statuses.extend(post_webhook(live_app.url, body).status_code for body in part)

    threads = [threading.Thread(target=deliver, args=(bodies[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * len(bodies)
    assert webhook.wait_idle(pooled, timeout=60)
    replies = [r for r in line.requests("/v2/bot/message/reply") if r["status"] == 200]
    assert Counter(r["replyToken"] for r in replies) == Counter(e["replyToken"] for e in events)
    assert pending_rows(pooled) == []
    assert residents(pooled) == len(users)
    # A redelivery of the whole lot changes nothing.
    for body in bodies:
        assert post_webhook(live_app.url, body).status_code == 200
    assert webhook.wait_idle(pooled, timeout=60)
    assert len([r for r in line.requests("/v2/bot/message/reply") if r["status"] == 200]) == \
        len(events)


def test_a_delivery_is_recorded_in_one_statement_with_its_payload(pooled, line):
    user = line.create_user(display_name="記録")["userId"]
    events = [text_event(user, "一"), text_event(user, "二")]
    with pooled.app_context():
        fresh = webhook.record(events + [events[0]])  # a duplicate within the delivery
        again = webhook.record(events)
    assert [e["webhookEventId"] for e in fresh] == [e["webhookEventId"] for e in events]
    assert again == []
    rows = sorted(pending_rows(pooled), key=lambda r: r.webhook_event_id)
    assert [r.payload for r in rows] == sorted(events, key=lambda e: e["webhookEventId"])
    assert {r.line_user_id for r in rows} == {user}


def test_an_event_recorded_before_a_crash_is_processed_by_the_recovery_sweep(pooled, line):
    user = line.create_user(display_name="再起動")["userId"]
    recorded = text_event(user, "こんにちは")
    line.issue_reply_tokens(user, [recorded["replyToken"]])
    with pooled.app_context():
        webhook.record([recorded])  # the 200 went out; the process died before processing
        assert webhook.recover(older_than=timedelta(minutes=1)) == {}  # too fresh yet
        outcomes = webhook.recover(now=utcnow() + timedelta(minutes=2))
        assert outcomes == {"done": 1}
        assert webhook.recover(now=utcnow() + timedelta(minutes=2)) == {}
    assert pending_rows(pooled) == []
    assert residents(pooled) == 1
    assert len(line.received(user)) == 1  # answered once, by reply (the token still held)


def test_a_recovered_event_whose_token_expired_is_answered_by_push(pooled, line):
    user = line.create_user(display_name="期限切れ")["userId"]
    recorded = text_event(user, "こんにちは")  # the emulator never issued this token
    with pooled.app_context():
        webhook.record([recorded])
        assert webhook.recover(now=utcnow() + timedelta(minutes=2)) == {"done": 1}
        from bot.gateway import gateway
        drain(db.session, gateway())
    assert [r["via"] for r in line.received(user)] == ["push"]


def test_two_processors_of_one_recorded_event_process_it_once(pooled, line):
    user = line.create_user(display_name="二重")["userId"]
    recorded = text_event(user, "こんにちは")
    line.issue_reply_tokens(user, [recorded["replyToken"]])
    with pooled.app_context():
        webhook.record([recorded])
        assert webhook.process_recorded(recorded) == webhook.DONE
        assert webhook.process_recorded(recorded) == webhook.DUPLICATE
    assert len(line.received(user)) == 1


def test_webhook_recover_command_processes_what_a_crash_left(pooled, line):
    user = line.create_user(display_name="コマンド")["userId"]
    recorded = text_event(user, "こんにちは")
    line.issue_reply_tokens(user, [recorded["replyToken"]])
    cli = pooled.test_cli_runner()
    assert cli.invoke(main, ["webhook", "recover"]).output == "no pending events\n"
    with pooled.app_context():
        webhook.record([recorded])
    result = cli.invoke(main, ["webhook", "recover", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert result.output == "1 done\n"
    assert len(line.received(user)) == 1


def test_the_worker_process_picks_up_pending_events(pooled, line, database_url, emulator_server):
    user = line.create_user(display_name="ワーカー")["userId"]
    recorded = text_event(user, "こんにちは")
    line.issue_reply_tokens(user, [recorded["replyToken"]])
    with pooled.app_context():
        webhook.record([recorded])
    env = process_env(DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
                      LINE_DATA_API_BASE_URL=emulator_server.url, OUTBOX_POLL_SECONDS="0.1",
                      WEBHOOK_RECOVER_AFTER_SECONDS="0")
    proc = subprocess.Popen([sys.executable, "-m", "cityhall", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a process starts slowly on a busy machine
        while pending_rows(pooled) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
    assert pending_rows(pooled) == []
    assert len(line.received(user)) == 1


def test_the_prune_job_keeps_pending_events(pooled, line):
    from cityhall.jobs import prune_webhook_events

    user = line.create_user(display_name="保持")["userId"]
    with pooled.app_context():
        webhook.record([text_event(user, "こんにちは")])
        with db.transaction() as session:
            assert prune_webhook_events.func(session, utcnow() + timedelta(days=365)) == 0
    assert len(pending_rows(pooled)) == 1


def test_the_pool_keeps_each_keys_order_and_bounds_its_lanes():
    seen: dict[str, list[int]] = {}
    lock = threading.Lock()

    def work(item: tuple[str, int]) -> None:
        key, n = item
        time.sleep(0.001 * (n % 3))
        with lock:
            seen.setdefault(key, []).append(n)

    pool = EventPool(lambda items: [work(i) for i in items], lanes=3, depth=2, batch=4)
    keys = [f"U{i}" for i in range(7)]
    for n in range(20):
        for key in keys:
            pool.submit(key, (key, n))
    assert pool.wait_idle(timeout=30)
    pool.shutdown()
    assert seen == {key: list(range(20)) for key in keys}
    with pytest.raises(ValueError):
        EventPool(work, lanes=0, depth=1)


def test_a_failing_event_on_the_pool_is_kept_in_the_dead_letter(pooled, live_app, line,
                                                                monkeypatch):
    from bot import dispatch
    from models.webhook import FailedEvent

    def explode(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(dispatch._event_handlers, "message", explode)
    user = line.create_user(display_name="失敗")["userId"]
    assert line.send_text(user, "boom")["status"] == 200
    assert webhook.wait_idle(pooled, timeout=30)
    with pooled.app_context(), db.session() as session:
        failed = list(session.scalars(select(FailedEvent)))
        processed = session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert [f.line_user_id for f in failed] == [user]
    assert processed == 0  # a redelivery after a fix is processed, as before


def test_the_emulator_enforces_rate_limits_and_the_worker_slows_down(app, line):
    from bot.gateway import gateway
    from bot.outbox import enqueue

    line.set_rate_limits({PUSH: 5})
    assert line._call("GET", "/rate-limits") == {PUSH: 5.0}
    users = [line.create_user(display_name=f"制限{i}")["userId"] for i in range(12)]
    with app.app_context(), db.transaction() as session:
        for user in users:
            enqueue(session, [user], [{"type": "text", "text": "お知らせ"}])
    pacer = Pacer(push_rate=1000, multicast_rate=100)
    sender = Sender(4, pacer)
    try:
        with app.app_context():
            drain(db.session, gateway(), sender=sender)
            assert pacer.rate(False) < 1000  # it backed off after the 429s
            for step in range(1, 30):
                with db.session() as session:
                    left = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status == OutboxStatus.PENDING))
                if not left:
                    break
                time.sleep(0.3)  # a new second: the emulator takes five more
                drain(db.session, gateway(), sender=sender, now=utcnow() + timedelta(minutes=step))
    finally:
        sender.close()
        line.set_rate_limits({})
    statuses = Counter(r["status"] for r in line.requests(PUSH))
    assert statuses[429] > 0 and statuses[200] == len(users)
    assert Counter(u for u in users for _ in line.received(u)) == Counter({u: 1 for u in users})


def test_rate_limits_are_checked_by_the_control_api_and_the_command_line(line):
    from emulator.__main__ import parse_args

    with pytest.raises(Exception) as refused:
        line.set_rate_limits({"push": 5})
    assert "positive number" in str(refused.value)
    args = parse_args(["--rate-limit", "push=2000", "--rate-limit", "multicast=200"])
    assert dict(args.rate_limit) == {PUSH: 2000.0, "/v2/bot/message/multicast": 200.0}
    with pytest.raises(SystemExit):
        parse_args(["--rate-limit", "push=fast"])
    assert json.loads(json.dumps(line.set_rate_limits({}))) == {}


def test_a_batch_shares_a_transaction_and_a_failing_event_runs_alone(pooled, line, monkeypatch):
    from bot import dispatch
    from models.webhook import FailedEvent

    original = dispatch._event_handlers["message"]

    def explode_on_boom(ctx):
        if ctx.raw["message"]["text"] == "boom":
            raise RuntimeError("boom")
        original(ctx)

    monkeypatch.setitem(dispatch._event_handlers, "message", explode_on_boom)
    user = line.create_user(display_name="一括")["userId"]
    events = [text_event(user, text) for text in ("一", "boom", "二")]
    line.issue_reply_tokens(user, [e["replyToken"] for e in events])
    with pooled.app_context():
        webhook.record(events)
        assert webhook.process_recorded_batch(events + [events[0]]) == \
            [webhook.DONE, webhook.FAILED, webhook.DONE, webhook.DUPLICATE]
        with db.session() as session:
            failed = [f.webhook_event_id for f in session.scalars(select(FailedEvent))]
    assert failed == [events[1]["webhookEventId"]]
    assert pending_rows(pooled) == []
    assert len(line.received(user)) == 2
    assert residents(pooled) == 1


def test_two_processors_racing_for_one_recorded_event_process_it_once(pooled, line):
    user = line.create_user(display_name="競争")["userId"]
    recorded = text_event(user, "こんにちは")
    line.issue_reply_tokens(user, [recorded["replyToken"]])
    with pooled.app_context():
        webhook.record([recorded])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def process() -> None:  # a live lane and the recovery sweep, at the same moment
        with pooled.app_context():
            barrier.wait()
            outcomes.append(webhook.process_recorded(recorded))

    threads = [threading.Thread(target=process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == [webhook.DONE, webhook.DUPLICATE]
    assert len(line.received(user)) == 1
    assert residents(pooled) == 1
