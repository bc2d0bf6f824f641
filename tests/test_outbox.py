"""The outbox and its worker against the emulator: push, multicast, retries, faults, crashes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from bot import worker
from bot.gateway import gateway
from bot.outbox import enqueue
from cityhall.db import db
from models import OutboxMessage, OutboxStatus, Resident, utcnow
from tests.builders import run_threads
from tests.conftest import process_env

PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"


def hello(text: str = "お知らせです") -> list[dict]:
    return [{"type": "text", "text": text}]


def queue(app, user_ids: list[str], messages: list[dict] | None = None) -> list[int]:
    with app.app_context(), db.transaction() as session:
        rows = enqueue(session, user_ids, messages or hello(), source="test")
        session.flush()
        return [r.id for r in rows]


def rows(app) -> list[OutboxMessage]:
    with app.app_context(), db.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def drain(app, minutes_ahead: float = 0, max_attempts: int = 12) -> int:
    """Deliver what is due as of now plus `minutes_ahead` (to step over back-off)."""
    with app.app_context():
        return worker.drain(db.session, gateway(), max_attempts=max_attempts,
                            now=utcnow() + timedelta(minutes=minutes_ahead))


def users(line, n: int) -> list[str]:
    return [line.create_user(display_name=f"利用者{i}")["userId"] for i in range(n)]


def received_counts(line, user_ids: list[str]) -> Counter:
    return Counter({u: len(line.received(u)) for u in user_ids})


def block(app, user_id: str) -> None:
    with app.app_context(), db.transaction() as session:
        session.add(Resident(line_user_id=user_id, blocked=True))


def test_push_is_delivered_with_a_retry_key(app, line):
    [user] = users(line, 1)
    queue(app, [user])
    assert drain(app) == 1
    [entry] = line.received(user)
    assert entry["via"] == "push" and entry["message"]["text"] == "お知らせです"
    [row] = rows(app)
    assert row.status == OutboxStatus.SENT and row.sent_at is not None
    assert entry["retryKey"] == row.retry_key


def test_many_recipients_go_by_multicast_and_blocked_ones_are_skipped(app, line):
    recipients = users(line, 4)
    block(app, recipients[0])
    queue(app, recipients)
    drain(app)
    assert received_counts(line, recipients) == Counter({u: 1 for u in recipients[1:]} |
                                                       {recipients[0]: 0})
    assert [r["via"] for r in line.received(recipients[1])] == ["multicast"]
    assert rows(app)[0].status == OutboxStatus.SENT


def test_push_to_a_resident_who_blocked_is_skipped_without_calling_line(app, line):
    [user] = users(line, 1)
    block(app, user)
    queue(app, [user])
    drain(app)
    assert rows(app)[0].status == OutboxStatus.SKIPPED
    assert line.requests(PUSH) == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limit_and_server_errors_back_off_and_retry(app, line, status):
    [user] = users(line, 1)
    line.add_fault(PUSH, status=status, count=2)
    queue(app, [user])
    assert drain(app) == 1  # failed once; the retry waits for its back-off
    row = rows(app)[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.last_error.startswith(str(status))
    assert row.next_attempt_at > utcnow()
    drain(app, minutes_ahead=10)
    drain(app, minutes_ahead=20)
    row = rows(app)[0]
    assert row.status == OutboxStatus.SENT and row.attempts == 3
    assert len(line.received(user)) == 1
    assert {r["retryKey"] for r in line.requests(PUSH)} == {row.retry_key}


def test_lost_answer_is_retried_with_the_same_key_and_not_delivered_twice(app, line):
    [user] = users(line, 1)
    line.add_fault(PUSH, status=500, count=1, after_accept=True)
    queue(app, [user])
    drain(app)
    drain(app, minutes_ahead=10)
    assert [r["status"] for r in line.requests(PUSH)] == [500, 409]
    assert rows(app)[0].status == OutboxStatus.SENT
    assert len(line.received(user)) == 1


def test_timeout_is_retried_and_not_delivered_twice(app, line):
    [user] = users(line, 1)
    # Slower than the test config's 2 s read timeout; LINE still accepts it in the end.
    line.add_fault(PUSH, delay=2.5, count=1)
    queue(app, [user])
    drain(app)
    assert rows(app)[0].last_error.startswith("0: ")
    time.sleep(1)
    drain(app, minutes_ahead=10)
    assert rows(app)[0].status == OutboxStatus.SENT
    assert len(line.received(user)) == 1


def test_a_request_line_refuses_fails_for_good_with_lines_message(app, line):
    [user] = users(line, 1)
    queue(app, [user], [{"type": "text", "text": "あ" * 5001}])
    drain(app)
    drain(app, minutes_ahead=60)
    row = rows(app)[0]
    assert row.status == OutboxStatus.FAILED and row.attempts == 1
    assert row.last_error.startswith("400: ")
    assert line.received(user) == []


def test_worker_gives_up_after_max_attempts(app, line):
    [user] = users(line, 1)
    line.add_fault(PUSH, status=500, count=100)
    queue(app, [user])
    for step in range(5):
        drain(app, minutes_ahead=10 * step, max_attempts=3)
    row = rows(app)[0]
    assert row.status == OutboxStatus.FAILED and row.attempts == 3


def start_worker(database_url: str, emulator_url: str) -> subprocess.Popen:
    env = process_env(DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_url,
                      LINE_DATA_API_BASE_URL=emulator_url, OUTBOX_POLL_SECONDS="0.1")
    return subprocess.Popen([sys.executable, "-m", "cityhall", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until(condition, timeout: float = 60.0) -> None:
    # Generous: a worker process takes seconds to start on a busy machine.
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_worker_killed_while_line_accepts_loses_nothing_and_sends_nothing_twice(
        app, line, database_url, emulator_server):
    recipients = users(line, 6)
    for user in recipients:
        queue(app, [user])
    line.add_fault(PUSH, delay=1.0, count=1)  # the first push hangs while LINE accepts it
    proc = start_worker(database_url, emulator_server.url)
    try:
        faults = lambda: requests.get(emulator_server.url + "/_emulator/faults", timeout=5).json()
        wait_until(lambda: faults()["faults"] == [] or faults()["faults"][0]["count"] == 0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    time.sleep(1.5)  # LINE finishes accepting the request the dead worker made
    drain(app, minutes_ahead=5)  # a restarted worker, once the dead worker's lease is over
    assert received_counts(line, recipients) == Counter({u: 1 for u in recipients})
    assert {r.status for r in rows(app)} == {OutboxStatus.SENT}
    assert 409 in [r["status"] for r in line.requests(PUSH)]


def test_worker_killed_at_a_random_moment_loses_nothing_and_sends_nothing_twice(
        app, line, database_url, emulator_server):
    recipients = users(line, 30)
    for user in recipients:
        queue(app, [user])
    line.add_fault(PUSH, delay=0.05, count=30)
    proc = start_worker(database_url, emulator_server.url)
    try:
        wait_until(lambda: len(line.requests(PUSH)) >= 5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    time.sleep(0.5)
    drain(app, minutes_ahead=5)
    assert received_counts(line, recipients) == Counter({u: 1 for u in recipients})
    assert {r.status for r in rows(app)} == {OutboxStatus.SENT}


def test_several_workers_share_the_outbox_without_sending_twice(app, line, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one worker; concurrent workers need PostgreSQL's SKIP LOCKED")
    recipients = users(line, 60)
    for user in recipients:
        queue(app, [user])
    line.add_fault(PUSH, delay=0.01, count=60)
    errors = run_threads(lambda: drain(app), 4, 60)
    assert errors == []
    assert received_counts(line, recipients) == Counter({u: 1 for u in recipients})
    assert [r["status"] for r in line.requests(PUSH)].count(200) == 60
    assert 409 not in [r["status"] for r in line.requests(PUSH)]


def test_a_thousand_recipients_go_in_multicasts_of_at_most_500(app, line):
    recipients = [f"U{i:032x}" for i in range(1001)]
    queue(app, recipients)
    drain(app)
    sizes = sorted(len(r.recipients) for r in rows(app))
    assert sizes == [1, 500, 500]
    assert len(line.requests(MULTICAST)) == 2 and len(line.requests(PUSH)) == 1
    assert {r.status for r in rows(app)} == {OutboxStatus.SENT}
    assert received_counts(line, recipients[::100]) == Counter({u: 1 for u in recipients[::100]})
