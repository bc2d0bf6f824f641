"""Check-in latency: from the webhook request to the reply reaching the emulator.

Registered families (one child each, so a scan checks in at once) each send their center's
scanned text; the time is taken from just before the POST to the moment the emulator recorded
the reply (its own clock, the same machine). Runs on SQLite and PostgreSQL under gunicorn.
Run by hand: `.venv/bin/python bench/checkin.py [--families 1000] [--concurrency 8]
[--database sqlite|postgresql|both]`. Not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    KEYS, POSTGRES_SERVER, backends, database_option, env_for, gunicorn, migrate, percentile,
    postgres_database, start_emulator, stop, text_body, wait_http)
from emulator.client import EmulatorClient  # noqa: E402

GOAL_P99_MS = 150


def prepare_city(database_url: str, user_ids: list[str]) -> str:
    """Seed the city, open every center all day, register one family per user; return the text."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(KEYS)  # the same check-in key as the gunicorn app that verifies the scans
    from checkin import qr, services
    from cityhall import create_app
    from cityhall.config import Config
    from cityhall.db import db
    from cityhall.seed import seed
    from models import Center, Resident, utcnow
    from models.center import WEEKDAYS
    from models.household import Child, Guardian, Household

    app = create_app(Config(DATABASE_URL=database_url))
    with app.app_context(), db.transaction() as session:
        seed(session)
        for center in session.scalars(sa.select(Center)):
            center.opening_hours = {day: ["00:00", "24:00"] for day in WEEKDAYS}
            center.closed_days = []
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
        center = session.scalars(sa.select(Center).where(Center.code == "central")).one()
        text = qr.scan_text(services.current_token(session, center, utcnow()))
    app.extensions["cityhall.db"][0].dispose()
    return text


def scan_all(url: str, line: EmulatorClient, user_ids: list[str], text: str,
             concurrency: int) -> list[float]:
    """Post one scan per family; return ms from each POST to its reply at the emulator."""
    bodies = {}
    for user_id in user_ids:
        body, signature, token = text_body(user_id, text)
        line.issue_reply_tokens(user_id, [token])
        bodies[user_id] = (body, signature)
    started: dict[str, float] = {}

    def post(user_id: str) -> None:
        body, signature = bodies[user_id]
        started[user_id] = time.time()
        response = requests.post(url + "/callback", data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Line-Signature": signature})
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, user_ids))
    return [reply_delay(line, u, started[u]) for u in user_ids]


def reply_delay(line: EmulatorClient, user_id: str, started: float) -> float:
    """Return ms until the user's check-in answer was recorded; fail if it never came."""
    replies = [r for r in line.received(user_id) if r["via"] == "reply"]
    if not replies or "チェックインしました" not in replies[-1]["message"].get("text", ""):
        raise RuntimeError(f"no check-in reply for {user_id}: {replies}")
    return (replies[-1]["at"] - started) * 1000


def run(backend: str, args, line: EmulatorClient, emulator_url: str) -> dict:
    """Measure one backend: fresh database, gunicorn, warm-up, then every family once."""
    drop = None
    if backend == "sqlite":
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-checkin-')}/bench.sqlite3"
    else:
        database_url, drop = postgres_database(args.postgres_url)
    try:
        migrate(database_url)
        users = [line.create_user(display_name=f"family{i}")["userId"]
                 for i in range(args.families + args.warmup)]
        text = prepare_city(database_url, users)
        proc, url = gunicorn("cityhall:create_app()", env_for(emulator_url, database_url),
                             args.workers, args.threads)
        try:
            wait_http(url + "/healthz")
            scan_all(url, line, users[:args.warmup], text, args.concurrency)
            wall = time.perf_counter()
            delays = scan_all(url, line, users[args.warmup:], text, args.concurrency)
            wall = time.perf_counter() - wall
        finally:
            stop(proc)
    finally:
        if drop:
            drop()
    return {"backend": backend, "p50": percentile(delays, 50), "p99": percentile(delays, 99),
            "max": max(delays), "rate": len(delays) / wall, "n": len(delays)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    database_option(parser)
    parser.add_argument("--postgres-url", default=POSTGRES_SERVER)
    args = parser.parse_args()
    chosen = backends(args)
    emulator, emulator_url = start_emulator()
    try:
        line = EmulatorClient(emulator_url)
        results = [run(b, args, line, emulator_url) for b in chosen]
    finally:
        stop(emulator)
    print(f"{args.families} families scan in once each, {args.concurrency} concurrent, gunicorn "
          f"{args.workers} workers x {args.threads} threads, {os.cpu_count()} CPUs")
    for r in results:
        verdict = "meets" if r["p99"] < GOAL_P99_MS else "misses"
        print(f"  {r['backend']:<11} p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms   "
              f"max {r['max']:6.1f} ms   {r['rate']:6.1f} check-ins/s   "
              f"({verdict} the {GOAL_P99_MS} ms p99 goal)")


if __name__ == "__main__":
    main()
