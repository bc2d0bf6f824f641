"""Outbox throughput: write N push rows, then drain them to the emulator with `cityhall worker`.

Prints rows/s for writing and for delivering, on SQLite (one worker) and PostgreSQL (several).
Run by hand: `.venv/bin/python bench/outbox.py [--rows 100000] [--pg-workers 2]
[--database sqlite|postgresql|both]`. Not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import env_for, migrate, start_emulator, stop  # noqa: E402
from cityhall.config import normalize_database_url  # noqa: E402
from cityhall.db import make_engine  # noqa: E402
from models import OutboxMessage, OutboxStatus, utcnow  # noqa: E402


def write_rows(database_url: str, rows: int) -> float:
    """Insert `rows` push rows in batches; return rows/s."""
    engine = make_engine(normalize_database_url(database_url))
    message = [{"type": "text", "text": "臨時休館のお知らせ / Closure notice"}]
    started = time.perf_counter()
    with engine.begin() as conn:
        for start in range(0, rows, 5000):
            conn.execute(sa.insert(OutboxMessage), [
                {"recipients": [f"U{i:032x}"], "messages": message, "retry_key": str(uuid.uuid4()),
                 "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": utcnow(),
                 "created_at": utcnow()}
                for i in range(start, min(rows, start + 5000))])
    rate = rows / (time.perf_counter() - started)
    engine.dispose()
    return rate


def pending(database_url: str) -> int:
    engine = make_engine(normalize_database_url(database_url))
    with engine.connect() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.status == OutboxStatus.PENDING))
    engine.dispose()
    return count


def drain(database_url: str, emulator_url: str, rows: int, workers: int) -> float:
    """Run `workers` worker processes until nothing is pending; return rows/s."""
    env = dict(env_for(emulator_url, database_url), OUTBOX_POLL_SECONDS="0.2")
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "cityhall", "worker"], env=env,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        while pending(database_url):
            time.sleep(0.5)
    finally:
        stop(*procs)
    return rows / (time.perf_counter() - started)


def reset_postgres(url: str) -> None:
    engine = make_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg-workers", type=int, default=2)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("sqlite", f"sqlite:///{tempfile.mkdtemp()}/outbox.sqlite3", 1))
    if args.database in ("postgresql", "both"):
        url = os.environ.get("CITYHALL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
        targets.append(("postgresql", url, args.pg_workers))
    print(f"{args.rows} push rows, {os.cpu_count()} CPUs")
    for name, url, workers in targets:
        if name == "postgresql":
            reset_postgres(url)
        migrate(url)
        emulator, emulator_url = start_emulator()
        try:
            written = write_rows(url, args.rows)
            delivered = drain(url, emulator_url, args.rows, workers)
        finally:
            stop(emulator)
        print(f"  {name:<10} write {written:9.0f} rows/s   deliver {delivered:7.1f} rows/s "
              f"({workers} worker{'s' if workers > 1 else ''})")
        if name == "postgresql":
            reset_postgres(url)


if __name__ == "__main__":
    main()
