"""Event reservations under a rush: no over-booking, and the reservation latency.

Two races, each on SQLite and PostgreSQL under gunicorn, with 50 concurrent senders:
- 500 households tap "Reserve" for one event of 20 places at the same moment;
- 500 households tap "Reserve" on 4 of 100 events of 20 places each (2,000 taps for 2,000
  places, spread at random, so some events fill and take waitlists while others do not).

The reference, in the same run: the same 500 households each tap a stale button (the whole
webhook path, signature, dedup, dispatch and reply, without the booking).

Latency is taken from just before the webhook POST to the moment the emulator recorded the
reply (its own clock, the same machine); replies carry no token, so a household's k-th reply
is matched to its k-th tap. Afterwards the database is read: no event may hold
more reserved places than its capacity, and `taken` must equal the reserved places.
Run by hand: `.venv/bin/python bench/events.py [--database sqlite|postgresql|both]`.
Not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    KEYS, POSTGRES_SERVER, SECRET, backends, database_option, env_for, gunicorn, migrate,
    percentile, postgres_database, start_emulator, stop, wait_http)
from emulator.client import EmulatorClient  # noqa: E402
from events.buttons import Reserve  # noqa: E402

PLACES = 20


def prepare(database_url: str, user_ids: list[str], events: int) -> list[int]:
    """Seed the city, register one family (one child) per user, create the events."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(KEYS)
    from cityhall import create_app
    from cityhall.city import current_city
    from cityhall.config import Config
    from cityhall.db import db
    from cityhall.seed import seed
    from events import services
    from models import Center, Resident, utcnow
    from models.household import Child, Guardian, Household

    app = create_app(Config(DATABASE_URL=database_url))
    with app.app_context(), db.transaction() as session:
        seed(session)
        center = session.scalars(sa.select(Center).where(Center.code == "central")).one()
        for n, user_id in enumerate(user_ids):
            resident = Resident(line_user_id=user_id, language="ja", language_chosen=True)
            household = Household(created_at=utcnow())
            session.add_all([resident, household])
            session.flush()
            session.add(Guardian(resident_id=resident.id, household=household, name=f"保護者{n}",
                                 kana="ホゴシャ", phone=f"090{n:08d}", postal_code="505-0041",
                                 address="太田町1", district_code="ota", consented_at=utcnow()))
            session.add(Child(household=household, name=f"子ども{n}", kana="コドモ",
                              birth_date=date(2022, 1 + n % 12, 1)))
        city, ids = current_city(), []
        for n in range(events):
            start = city.at(city.today(utcnow()) + timedelta(days=2 + n % 20), "10:00")
            [event] = services.create_events(session, {
                "center_id": center.id, "title_ja": f"イベント{n}", "starts_at": start,
                "ends_at": start + timedelta(hours=1), "capacity": PLACES, "unit": "children"},
                utcnow())
            ids.append(event.id)
    app.extensions["cityhall.db"][0].dispose()
    return ids


def postback_body(user_id: str, data: str) -> tuple[bytes, str, str]:
    """Build a signed one-event postback webhook body; return (body, signature, reply token)."""
    token = uuid.uuid4().hex
    event = {"type": "postback", "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": user_id}, "replyToken": token,
             "webhookEventId": uuid.uuid4().hex[:26].upper(),
             "deliveryContext": {"isRedelivery": False}, "postback": {"data": data}}
    body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, signature, token


def reserve_all(url: str, line: EmulatorClient, taps: list[tuple[str, int]],
                concurrency: int) -> list[float]:
    """Post every (user, event) tap; return ms from each POST to its reply at the emulator."""
    bodies = []
    for user_id, event_id in taps:
        data = Reserve(event_id).pack() if event_id else "ev.reserve:reference"
        body, signature, token = postback_body(user_id, data)
        bodies.append((user_id, token, body, signature))
    started: dict[str, float] = {}
    local = threading.local()  # one emulator client per sender thread

    def post(item) -> None:
        user_id, token, body, signature = item
        # Issued just before its POST: a reply token lives about a minute, the run longer.
        if not hasattr(local, "line"):
            local.line = EmulatorClient(line.base_url)
        local.line.issue_reply_tokens(user_id, [token])
        started[token] = time.time()
        response = requests.post(url + "/callback", data=body, timeout=60, headers={
            "Content-Type": "application/json", "X-Line-Signature": signature})
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, bodies))
    delays = []
    for user_id in {u for u, _t, _b, _s in bodies}:
        replies = [r for r in line.received(user_id) if r["via"] == "reply"]
        mine = [t for u, t, _b, _s in bodies if u == user_id]
        if len(replies) < len(mine):
            raise RuntimeError(f"{user_id}: {len(replies)} replies to {len(mine)} taps")
        for reply in replies[-len(mine):]:
            text = reply["message"].get("text", "")
            if not text.startswith(("予約しました", "申し訳ありません")) and "キャンセル待ち" not in text:
                raise RuntimeError(f"unexpected answer {text!r}")
        # Replies carry no token: a household's k-th reply is matched to its k-th tap.
        starts = sorted(started[token] for token in mine)
        delays += [(reply["at"] - start) * 1000
                   for reply, start in zip(replies[-len(mine):], starts, strict=True)]
    return delays


def check(database_url: str) -> dict:
    """Read the database: over-booked events, `taken` against reserved places, totals."""
    from cityhall.config import normalize_database_url

    engine = sa.create_engine(normalize_database_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT e.id, e.capacity, e.taken, COALESCE(SUM(r.places), 0) FROM events e "
            "LEFT JOIN event_reservations r ON r.event_id = e.id AND r.status = 'reserved' "
            "GROUP BY e.id, e.capacity, e.taken")).all()
        waiting = conn.execute(sa.text("SELECT COUNT(*) FROM event_waitlist")).scalar()
    engine.dispose()
    return {"over": sum(1 for _i, cap, _t, res in rows if res > cap),
            "mismatch": sum(1 for _i, _c, taken, res in rows if taken != res),
            "reserved": sum(res for *_x, res in rows), "capacity": sum(c for _i, c, _t, _r in rows),
            "waiting": waiting}


def run(backend: str, scenario: str, args, line: EmulatorClient, emulator_url: str) -> dict:
    drop = None
    if backend == "sqlite":
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-events-')}/bench.sqlite3"
    else:
        database_url, drop = postgres_database(args.postgres_url)
    try:
        migrate(database_url)
        users = [line.create_user(display_name=f"family{i}")["userId"]
                 for i in range(args.households)]
        events = prepare(database_url, users, 1 if scenario == "one" else 100)
        rng = random.Random(14)
        taps = ([(u, events[0]) for u in users] if scenario == "one" else
                [(u, 0) for u in users] if scenario == "reference" else
                [(u, e) for u in users for e in rng.sample(events, 4)])
        rng.shuffle(taps)
        proc, url = gunicorn("cityhall:create_app()", env_for(emulator_url, database_url),
                             args.workers, args.threads)
        try:
            wait_http(url + "/healthz")
            wall = time.perf_counter()
            delays = reserve_all(url, line, taps, args.concurrency)
            wall = time.perf_counter() - wall
        finally:
            stop(proc)
        found = check(database_url)
    finally:
        if drop:
            drop()
    return {"backend": backend, "scenario": scenario, "p50": percentile(delays, 50),
            "p99": percentile(delays, 99), "rate": len(delays) / wall, "n": len(delays), **found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    database_option(parser)
    parser.add_argument("--postgres-url", default=POSTGRES_SERVER)
    args = parser.parse_args()
    chosen = backends(args)
    emulator, emulator_url = start_emulator()
    print(f"{args.households} households, {args.concurrency} concurrent senders, gunicorn "
          f"{args.workers} workers x {args.threads} threads, {os.cpu_count()} CPUs", flush=True)
    try:
        line = EmulatorClient(emulator_url)
        for backend in chosen:
            for scenario in ("reference", "one", "many"):
                report(run(backend, scenario, args, line, emulator_url))
    finally:
        stop(emulator)


def report(r: dict) -> None:
    """Print one race's line as soon as it is measured."""
    what = {"one": "1 event x 20 places  ", "many": "100 events x 20 places",
            "reference": "reference: stale button"}[r["scenario"]]
    verdict = "no over-booking" if r["over"] == 0 and r["mismatch"] == 0 else \
        f"OVER-BOOKED {r['over']} events, {r['mismatch']} counters off"
    print(f"  {r['backend']:<11} {what}  {r['n']:5d} taps  p50 {r['p50']:6.1f} ms  "
          f"p99 {r['p99']:7.1f} ms  {r['rate']:6.1f} taps/s  reserved {r['reserved']}/"
          f"{r['capacity']}  waitlist {r['waiting']}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
