"""A notice's delivery through the outbox and the emulator: batches of 500 sharing a language,
one retry key per batch across retries, faults, a killed worker, two workers, cancel, figures."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import worker
from bot.gateway import gateway
from cityhall.db import db
from models import OutboxMessage, Resident, utcnow
from models.notice import Notice
from notices import services
from tests.builders import run_threads
from tests.conftest import process_env
from tests.notices_support import CITY, follower, guardian, seeded, uid
from tests.test_outbox import start_worker, wait_until

MULTICAST = "/v2/bot/message/multicast"
PUSH = "/v2/bot/message/push"


def population(app, languages: dict[str, int]) -> dict[str, str]:
    """Register residents per language (a bulk insert); return {user id: language}."""
    users = {}
    with app.app_context(), db.transaction() as session:
        n = 0
        rows = []
        for language, count in languages.items():
            for _ in range(count):
                n += 1
                users[uid(n)] = language
                rows.append({"line_user_id": uid(n), "language": language,
                             "language_chosen": True, "blocked": False})
        session.execute(Resident.__table__.insert(), rows)
        for resident in session.scalars(select(Resident)):
            guardian_row(session, resident)
    return users


def guardian_row(session, resident) -> None:
    from models.household import Guardian, Household

    household = Household()
    session.add(household)
    session.flush()
    session.add(Guardian(resident_id=resident.id, household_id=household.id, name="保護者",
                         kana="ホゴシャ", phone="09000000000", postal_code="505-0041",
                         address="太田町1", district_code="ota", consented_at=utcnow()))


def send(app, segment=None, **kwargs) -> int:
    with app.app_context(), db.transaction() as session:
        notice = services.send_to_segment(
            session, title="お知らせ", bodies={"ja": "日本語の本文", "en": "English text"},
            segment=segment or {"all": True}, topic="news", now=utcnow(), city=CITY,
            urgent=True, **kwargs)
        return notice.id


def drain(app, minutes_ahead: float = 0) -> int:
    with app.app_context():
        return worker.drain(db.session, gateway(), now=utcnow() + timedelta(minutes=minutes_ahead))


def outbox(app) -> list[OutboxMessage]:
    with app.app_context(), db.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def figures(app, notice_id: int) -> services.NoticeFigures:
    with app.app_context(), db.session() as session:
        return services.figures(session, session.get(Notice, notice_id))


def delivered(line, users: dict[str, str]) -> Counter:
    """Count per user what they received; fail if anyone got the wrong language."""
    counts = Counter()
    for user, language in users.items():
        for entry in line.received(user):
            body = entry["message"]["contents"]["body"]["contents"]
            text = [c["text"] for c in body if c["text"] in ("日本語の本文", "English text")][0]
            assert text == ("English text" if language == "en" else "日本語の本文"), user
            counts[user] += 1
    return counts


def test_a_notice_is_a_few_multicasts_of_up_to_500_sharing_a_language(app, line):
    seeded(app)
    users = population(app, {"ja": 700, "en": 501, "ko": 3})
    notice_id = send(app)
    rows = outbox(app)
    by_source = Counter(r.source for r in rows)
    # Korean readers get the Japanese text: the notice has none in Korean.
    assert by_source == {f"notice:{notice_id}:ja": 2, f"notice:{notice_id}:en": 2}
    assert sorted(len(r.recipients) for r in rows) == [1, 203, 500, 500]
    assert len({r.retry_key for r in rows}) == 4
    drain(app)
    assert delivered(line, users) == Counter({u: 1 for u in users})
    assert len(line.requests(MULTICAST)) == 3 and len(line.requests(PUSH)) == 1
    found = figures(app, notice_id)
    assert (found.targeted, found.sent, found.failed, found.waiting) == (1204, 1204, 0, 0)


def test_429_500_and_timeouts_back_off_and_each_batch_keeps_its_retry_key(app, line):
    seeded(app)
    users = population(app, {"ja": 600, "en": 300})
    line.add_fault(MULTICAST, status=429, count=2)
    line.add_fault(MULTICAST, status=500, count=1)
    line.add_fault(MULTICAST, status=500, count=1, after_accept=True)  # LINE took it, then failed
    line.add_fault(MULTICAST, delay=3.0, count=1)  # longer than the 2 s read timeout
    notice_id = send(app)
    for step in range(12):
        drain(app, minutes_ahead=10 * step)
    time.sleep(3.0)  # the timed-out request finishes inside the emulator
    for step in range(12, 16):
        drain(app, minutes_ahead=10 * step)
    assert delivered(line, users) == Counter({u: 1 for u in users})
    keys = Counter(r["retryKey"] for r in line.requests(MULTICAST))
    # Three batches (500 + 100 Japanese, 300 English); each of the five faults cost one retry
    # under the same key, and a retry of an accepted request got 409, not a second delivery.
    assert set(keys) == {r.retry_key for r in outbox(app)} and len(keys) == 3
    assert sum(keys.values()) == 3 + 5
    found = figures(app, notice_id)
    assert (found.sent, found.failed, found.waiting) == (900, 0, 0)


def test_a_blocked_resident_is_skipped_and_a_rejected_batch_counts_as_failed_with_the_reason(
        app, line):
    seeded(app)
    users = population(app, {"ja": 3, "en": 2})
    notice_id = send(app)
    blocked = next(u for u, lang in users.items() if lang == "ja")
    with app.app_context(), db.transaction() as session:
        session.execute(update(Resident).where(Resident.line_user_id == blocked)
                        .values(blocked=True))
    line.add_fault(MULTICAST, status=400, count=1)  # the first batch (English) is refused
    drain(app)
    found = figures(app, notice_id)
    assert (found.targeted, found.sent, found.skipped, found.failed) == (5, 2, 1, 2)
    assert list(found.reasons) and list(found.reasons)[0].startswith("400")


def test_a_notice_can_be_cancelled_while_batches_remain(app, line):
    seeded(app)
    population(app, {"ja": 1500})
    notice_id = send(app)
    with app.app_context():
        worker.drain_once(db.session, gateway(), batch_size=1)
    with app.app_context(), db.transaction() as session:
        stopped = services.cancel(session, session.get(Notice, notice_id), utcnow())
    assert stopped == 2
    drain(app, minutes_ahead=60)
    assert len(line.requests(MULTICAST)) == 1
    found = figures(app, notice_id)
    assert (found.sent, found.cancelled, found.waiting) == (500, 1000, 0)


def test_a_worker_killed_mid_notice_and_restarted_delivers_each_recipient_once(
        app, line, database_url, emulator_server):
    seeded(app)
    users = population(app, {"ja": 1500, "en": 1000})
    send(app)
    line.add_fault(MULTICAST, delay=0.3, count=10)
    proc = start_worker(database_url, emulator_server.url)
    try:
        wait_until(lambda: len(line.requests(MULTICAST)) >= 2, timeout=120)  # a loaded machine
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    time.sleep(0.5)
    drain(app, minutes_ahead=5)  # the restarted worker, after the dead one's lease
    assert delivered(line, users) == Counter({u: 1 for u in users})


def test_two_workers_at_once_deliver_each_recipient_once_in_their_language(app, line,
                                                                          database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one worker; concurrent workers need PostgreSQL's SKIP LOCKED")
    seeded(app)
    users = population(app, {"ja": 2600, "en": 1400})
    send(app)
    line.add_fault(MULTICAST, delay=0.05, count=8)
    errors = run_threads(lambda: drain(app), 2, 120)
    assert errors == []
    assert delivered(line, users) == Counter({u: 1 for u in users})
    assert 409 not in [r["status"] for r in line.requests(MULTICAST)]


def test_a_hundred_thousand_would_be_200_rows_and_the_notice_in_one_transaction(app):
    # The shape at scale, counted without 100,000 residents: 100,000 ids in two languages.
    from bot.outbox import enqueue

    with app.app_context(), db.transaction() as session:
        rows = enqueue(session, [uid(i) for i in range(60_000)], [{"type": "text", "text": "a"}])
        rows += enqueue(session, [uid(i) for i in range(60_000, 100_000)],
                        [{"type": "text", "text": "a"}])
        assert len(rows) == 200
        session.rollback()


def test_another_feature_sends_to_an_explicit_list(app, line):
    seeded(app)
    with app.app_context(), db.transaction() as session:
        a = guardian(session, language="en")
        b = follower(session)  # not registered: an explicit list may name any follower
        c = follower(session, blocked=True)
        notice = services.send_to_residents(
            session, [a.resident_id, b.id, c.id], title="イベント中止",
            bodies={"ja": "中止になりました", "en": "Cancelled"}, topic="events", now=utcnow(),
            city=CITY, urgent=True, source="events:cancelled:1")
        users = {session.get(Resident, a.resident_id).line_user_id: "en", b.line_user_id: "ja"}
        blocked = c.line_user_id
        assert notice.targeted_residents == 2
    drain(app)
    assert [m["message"]["altText"] for m in line.received(list(users)[0])] == [
        "Notice: イベント中止"]
    assert len(line.received(list(users)[1])) == 1 and line.received(blocked) == []


def test_the_cli_sends_and_prints_the_id_last(app, line, database_url):
    seeded(app)
    users = population(app, {"ja": 2, "en": 1})
    env = process_env(DATABASE_URL=database_url)
    out = subprocess.run([sys.executable, "-m", "cityhall", "notices", "send", "--title", "休館",
                          "--text", "日本語の本文", "--text-en", "English text",
                          "--title-en=Closed", "--segment", '{"all": true}', "--urgent"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    notice_id = int(out.stdout.strip().splitlines()[-1])
    drain(app)
    assert delivered(line, users) == Counter({u: 1 for u in users})
    with app.app_context(), db.session() as session:
        notice = session.get(Notice, notice_id)
        assert notice.bodies == {"ja": "日本語の本文", "en": "English text"}
        assert notice.titles == {"en": "Closed"}
    bad = subprocess.run([sys.executable, "-m", "cityhall", "notices", "send", "--title", "x",
                          "--text", "y", "--segment", "{}"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode != 0 and "empty segment" in bad.stderr
