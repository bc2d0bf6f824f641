"""Outbox delivery: one `cityhall worker` against the emulator's own ceiling, in one run.

The emulator enforces LINE's per-endpoint rate limits (push 2,000, multicast 200 requests a
second; --no-rate-limit lifts them). First a bare concurrent client (THREADS threads, a
keep-alive session each, pushes with retry keys: the work LINE does for a push) measures
what the emulator itself can take; then N push rows are written to the outbox and one
worker (or --workers N, PostgreSQL) drains them. The worker's rate is counted from the
first push the emulator recorded to the last (the process start-up is left out), and also
from the worker's start for reference. One command:
`.venv/bin/python bench/outbox.py --database sqlite|postgresql|both [--rows 3000]`.
Not a test: the machine is shared; the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    POSTGRES_SERVER, TOKEN, backends, database_option, load, migrate, postgres_database,
    drain_outbox, start_emulator, stop)
from cityhall.config import normalize_database_url  # noqa: E402
from cityhall.db import make_engine  # noqa: E402
from emulator.client import EmulatorClient  # noqa: E402
from models import OutboxMessage, OutboxStatus, utcnow  # noqa: E402

PUSH = "/v2/bot/message/push"
MESSAGE = [{"type": "text", "text": "臨時休館のお知らせ / Closure notice"}]


def ceiling(emulator_url: str, requests_count: int, threads: int) -> tuple[float, int]:
    """Push `requests_count` times with a bare concurrent client; return (requests/s, 429s)."""
    local = threading.local()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def push(i: int) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        while True:
            response = session.post(emulator_url + PUSH, timeout=30, json={
                "to": f"U{i:032x}", "messages": MESSAGE},
                headers=dict(headers, **{"X-Line-Retry-Key": str(uuid.uuid4())}))
            if response.status_code != 429:
                response.raise_for_status()
                return 0
            time.sleep(0.05)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(push, range(requests_count)))
    rate = requests_count / (time.perf_counter() - started)
    throttled = sum(1 for r in EmulatorClient(emulator_url).requests(PUSH) if r["status"] == 429)
    return rate, throttled


def write_rows(database_url: str, rows: int) -> float:
    """Insert `rows` push rows in batches; return rows/s."""
    engine = make_engine(normalize_database_url(database_url))
    started = time.perf_counter()
    with engine.begin() as conn:
        for start in range(0, rows, 5000):
            conn.execute(sa.insert(OutboxMessage), [
                {"recipients": [f"U{i:032x}"], "messages": MESSAGE, "retry_key": str(uuid.uuid4()),
                 "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": utcnow(),
                 "created_at": utcnow()}
                for i in range(start, min(rows, start + 5000))])
    rate = rows / (time.perf_counter() - started)
    engine.dispose()
    return rate


def drain(database_url: str, emulator_url: str, rows: int, workers: int) -> tuple[float, float]:
    """Run `workers` worker processes until nothing is pending; return (rate, rate from start)."""
    started, accepted = drain_outbox(database_url, emulator_url, workers, PUSH)
    if len(accepted) < rows:
        raise RuntimeError(f"only {len(accepted)} of {rows} pushes reached the emulator")
    return rows / (max(accepted) - min(accepted)), rows / (max(accepted) - started)


def bench(database: str, args) -> None:
    drop = None
    if database == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-outbox-')}/outbox.sqlite3"
        workers = 1
    else:
        url, drop = postgres_database(POSTGRES_SERVER)
        workers = args.workers
    limits = [] if args.no_rate_limit else ["--rate-limit", "push=2000",
                                            "--rate-limit", "multicast=200"]
    emulator, emulator_url = start_emulator(*limits)
    try:
        migrate(url)
        written = write_rows(url, args.rows)
        before = load()
        top, throttled = ceiling(emulator_url, args.rows, args.threads)
        EmulatorClient(emulator_url).reset()
        rate, from_start = drain(url, emulator_url, args.rows, workers)
        after = load()
        worker_429 = sum(1 for r in EmulatorClient(emulator_url).requests(PUSH)
                         if r["status"] == 429)
    finally:
        stop(emulator)
        if drop:
            drop()
    print(f"delivery {database}: worker ({workers}) {rate:.0f} pushes/s | emulator ceiling "
          f"{top:.0f} requests/s (bare client, {args.threads} threads) | ratio "
          f"{rate / top:.2f}x (goal >= 0.8x and >= 1,500/s) | load {before}..{after}", flush=True)
    print(f"  {database}: {from_start:.0f} pushes/s counting the worker's start-up; outbox "
          f"write {written:.0f} rows/s; 429s: bare client {throttled}, worker {worker_429}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="PostgreSQL only")
    parser.add_argument("--no-rate-limit", action="store_true")
    database_option(parser)
    args = parser.parse_args()
    print(f"{args.rows} pushes, {os.cpu_count()} CPUs", flush=True)
    for database in backends(args):
        bench(database, args)


if __name__ == "__main__":
    main()
