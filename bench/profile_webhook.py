"""Profile the webhook in one process: N signed text events through Flask's test client.

The emulator runs in a thread of the same process; cProfile covers the request handling and,
when the app processes events on its pool, the pool threads too (profiled per thread and
merged). Prints the top functions by cumulative time. Run by hand:
`.venv/bin/python bench/profile_webhook.py [--events 500] [--database sqlite|postgresql]`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    POSTGRES_SERVER, SECRET, TOKEN, migrate, postgres_database, text_body)
from emulator.client import EmulatorClient  # noqa: E402
from emulator.server import EmulatorServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--sort", choices=["cumulative", "tottime"], default="cumulative")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--inline", action="store_true",
                        help="process before the 200 (WEBHOOK_PROCESS_INLINE) instead of the pool")
    parser.add_argument("--statements", action="store_true",
                        help="count the SQL statements per event instead of profiling")
    args = parser.parse_args()
    drop = None
    if args.database == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/profile.sqlite3"
    else:
        url, drop = postgres_database(POSTGRES_SERVER)
    try:
        run(url, args)
    finally:
        if drop:
            drop()


def run(url: str, args) -> None:
    from cityhall import create_app
    from cityhall.config import TestingConfig

    migrate(url)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    emulator = EmulatorServer(SECRET, TOKEN).start()
    line = EmulatorClient(emulator.url)
    app = create_app(TestingConfig(DATABASE_URL=url, LINE_API_BASE_URL=emulator.url,
                                   LINE_DATA_API_BASE_URL=emulator.url,
                                   LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
                                   WEBHOOK_PROCESS_INLINE=args.inline))
    client = app.test_client()
    users = [line.create_user(display_name=f"p{i}")["userId"] for i in range(args.users)]
    bodies = []
    for i in range(args.events + args.users):
        body, signature, token = text_body(users[i % args.users], "こんにちは")
        line.issue_reply_tokens(users[i % args.users], [token])
        bodies.append((body, signature))
    # Warm-up: every user exists and every import is done before profiling.
    for body, signature in bodies[:args.users]:
        client.post("/callback", data=body, headers={"X-Line-Signature": signature,
                                                     "Content-Type": "application/json"})
    wait_drained(app)
    from bot import webhook

    webhook.shutdown_pool(app)  # the lanes start again, profiled, at the next event
    if args.statements:
        count_statements(app, client, bodies[args.users:])
        emulator.stop()
        return
    profiles: list[cProfile.Profile] = []
    original_run = threading.Thread.run

    def profiled_run(self):  # threads started from now on are profiled too
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run
    main_profile = cProfile.Profile()
    started = time.perf_counter()
    main_profile.enable()
    for body, signature in bodies[args.users:]:
        client.post("/callback", data=body, headers={"X-Line-Signature": signature,
                                                     "Content-Type": "application/json"})
    acked = time.perf_counter() - started
    wait_drained(app)
    main_profile.disable()
    total = time.perf_counter() - started
    threading.Thread.run = original_run
    webhook.shutdown_pool(app)  # the lanes end, so their profiles are complete
    out = io.StringIO()
    stats = pstats.Stats(main_profile, stream=out)
    for profile in profiles:
        try:
            stats.add(profile)
        except TypeError:  # a thread still running has no stats yet
            pass
    stats.sort_stats(args.sort).print_stats(args.top)
    print(f"{args.events} events, one at a time: {args.events / acked:.0f} events/s to the 200, "
          f"{args.events / total:.0f} events/s until processed ({total / args.events * 1000:.2f} ms"
          f" per event, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})")
    print("\n".join(out.getvalue().splitlines()[:args.top + 12]))
    emulator.stop()


def count_statements(app, client, bodies) -> None:
    """Post the bodies and print the SQL statements they ran, per event and by kind."""
    from collections import Counter

    from sqlalchemy import event

    from cityhall.db import db

    seen: Counter[str] = Counter()

    def count(_conn, _cursor, statement, *_rest) -> None:
        seen[" ".join(statement.split())[:110]] += 1

    with app.app_context():
        engine = db.engine
    def commit(_conn) -> None:
        seen["COMMIT"] += 1

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", commit)
    try:
        for body, signature in bodies:
            client.post("/callback", data=body, headers={"X-Line-Signature": signature,
                                                         "Content-Type": "application/json"})
        wait_drained(app)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", commit)
    from bot import webhook

    webhook.shutdown_pool(app)
    print(f"{len(bodies)} events: {sum(seen.values()) / len(bodies):.2f} statements per event "
          f"(load {os.getloadavg()[0]:.2f})")
    for statement, n in seen.most_common():
        print(f"{n / len(bodies):6.2f}  {statement}")


def wait_drained(app) -> None:
    from bot import webhook

    if not webhook.wait_idle(app, timeout=120):
        raise RuntimeError("the webhook pool did not drain in two minutes")


if __name__ == "__main__":
    main()
