"""Notice fan-out: 100,000 registered residents; evaluate a segment, write the notice's outbox,
deliver it to the emulator. Prints our times and, beside them, the emulator's own multicast rate
(the same number of 500-recipient requests sent straight to it), on SQLite and PostgreSQL.

Run by hand: `.venv/bin/python bench/fanout.py [--residents 100000] [--workers 2]
[--database sqlite|postgresql|both]`. Not a test: the machine is shared and noisy.
Goals (issue 13): segment under 1 s; outbox written under 2 s; delivery bound by the emulator.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    POSTGRES_SERVER, TOKEN, database_option, drain_outbox, env_for, migrate, postgres_database,
    start_emulator, stop)
from cityhall.config import normalize_database_url  # noqa: E402

MULTICAST = "/v2/bot/message/multicast"

LANGUAGES = ["ja"] * 80 + ["en"] * 15 + ["ko", "vi", "pt-BR", "zh-Hans", "tl"]
DISTRICTS = ["ota", "furui", "shimokoda", "hachiya", "kamo"]
SEGMENT = {"child_age_months": [0, 71], "districts": ["ota", "furui", "shimokoda"]}


def populate(url: str, residents: int) -> None:
    """Insert residents, households, guardians and 1-2 children each, in bulk."""
    from models import Resident, utcnow
    from models.household import Child, Guardian, Household

    rng = random.Random(13)
    engine = sa.create_engine(normalize_database_url(url))
    today, now = date(2026, 12, 1), utcnow()
    with engine.begin() as conn:
        for start in range(0, residents, 10_000):
            ids = range(start + 1, min(residents, start + 10_000) + 1)
            conn.execute(sa.insert(Resident), [
                {"id": i, "line_user_id": f"U{i:032x}", "language": rng.choice(LANGUAGES),
                 "language_chosen": True, "blocked": rng.random() < 0.02} for i in ids])
            conn.execute(sa.insert(Household), [{"id": i} for i in ids])
            conn.execute(sa.insert(Guardian), [
                {"id": i, "resident_id": i, "household_id": i, "name": "保護者", "kana": "ホゴシャ",
                 "phone": "09000000000", "postal_code": "505-0041", "address": "太田町1",
                 "district_code": rng.choice(DISTRICTS), "consented_at": now}
                for i in ids])
            conn.execute(sa.insert(Child), [
                {"household_id": i, "name": "子", "kana": "コ",
                 "birth_date": today - timedelta(days=rng.randint(0, 12 * 365))}
                for i in ids for _ in range(1 + (i % 3 == 0))])
        if engine.dialect.name == "postgresql":
            for table in ("residents", "households", "guardians"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def in_app(url: str, emulator_url: str, work):
    """Run `work(session)` inside the app (catalogues, settings), in one transaction."""
    os.environ.update(env_for(emulator_url, url))
    from cityhall import create_app
    from cityhall.db import db

    app = create_app()
    with app.app_context(), db.transaction() as session:
        result = work(session)
    app.extensions["cityhall.db"][0].dispose()
    return result


def measure(url: str, emulator_url: str) -> dict[str, float]:
    """Time the segment's evaluation, then the notice's outbox in one transaction."""
    from cityhall.city import City
    from models import utcnow
    from notices import segments, services

    city = City("Asia/Tokyo")
    found: dict[str, float] = {}

    def evaluate(session):
        ctx = segments.SegmentContext(utcnow(), city)
        started = time.perf_counter()
        found["reached"] = segments.count(session, SEGMENT, ctx, topic="news")
        found["segment_s"] = time.perf_counter() - started
        started = time.perf_counter()
        segments.reach(session, SEGMENT, ctx, topic="news")
        found["reach_s"] = time.perf_counter() - started

    def write(session):
        started = time.perf_counter()
        notice = services.send_to_segment(
            session, title="臨時休館のお知らせ", bodies={"ja": "本日は休館です。", "en": "Closed today."},
            segment={"all": True}, topic="news", now=utcnow(), city=city, urgent=True)
        session.flush()
        found["outbox_s"] = time.perf_counter() - started
        found["targeted"] = notice.targeted_residents
        found["rows"] = session.scalar(sa.text(
            "SELECT count(*) FROM outbox_messages WHERE source LIKE :p"), {"p": f"notice:{notice.id}:%"})

    in_app(url, emulator_url, evaluate)
    started = time.perf_counter()
    in_app(url, emulator_url, write)
    found["outbox_commit_s"] = time.perf_counter() - started
    return found


def deliver(url: str, emulator_url: str, workers: int) -> tuple[float, float]:
    """Run worker processes until the outbox is empty; return seconds from their start, and
    from the first multicast the emulator accepted to the last (without the processes'
    start-up)."""
    started, accepted = drain_outbox(url, emulator_url, workers, MULTICAST)
    total = time.time() - started
    if len(accepted) < 2:
        return total, total
    return total, max(accepted) - min(accepted)


def emulator_rate(emulator_url: str, requests_count: int) -> float:
    """Send the same number of 500-recipient multicasts straight to the emulator; return seconds."""
    message = [{"type": "text", "text": "基準 / reference"}]
    session = requests.Session()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    for n in range(requests_count):
        to = [f"U{(10**7 + n * 500 + i):032x}" for i in range(500)]
        session.post(emulator_url + "/v2/bot/message/multicast", json={"to": to, "messages": message},
                     headers={**headers, "X-Line-Retry-Key": str(uuid.uuid4())}, timeout=30)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="PostgreSQL workers (SQLite: 1)")
    database_option(parser)
    args = parser.parse_args()
    print(f"{args.residents} registered residents, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("sqlite", f"sqlite:///{tempfile.mkdtemp()}/fanout.sqlite3", None, 1))
    if args.database in ("postgresql", "both"):
        server = POSTGRES_SERVER
        url, drop = postgres_database(server)
        targets.append(("postgresql", url, drop, args.workers))
    for name, url, drop, workers in targets:
        try:
            migrate(url)
            populate(url, args.residents)
            emulator, emulator_url = start_emulator()
            try:
                found = measure(url, emulator_url)
                ours, span = deliver(url, emulator_url, workers)
                reference = emulator_rate(emulator_url, int(found["rows"]))
            finally:
                stop(emulator)
        finally:
            if drop:
                drop()
        print(f"  {name:<10} segment {found['segment_s']:.3f} s ({int(found['reached'])} reached; "
              f"reach with samples {found['reach_s']:.3f} s)   outbox {found['outbox_s']:.3f} s "
              f"({int(found['rows'])} rows for {int(found['targeted'])}; with commit "
              f"{found['outbox_commit_s']:.3f} s)")
        print(f"  {'':<10} delivery {ours:.1f} s with {workers} worker(s) from their start, "
              f"{span:.1f} s first to last batch = {found['rows'] / max(span, 1e-6):.1f} "
              f"multicasts/s; the emulator alone: {reference:.1f} s for as many = "
              f"{found['rows'] / reference:.1f} multicasts/s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
