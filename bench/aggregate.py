"""Benchmark of the dashboards: full aggregation, an incremental run, and the JSON endpoints.

`.venv/bin/python bench/aggregate.py --database sqlite|postgresql|both [--years 3]
[--centers 20] [--per-day 45] [--statements] [--profile]` generates visits (about 1 million
with the defaults) by bulk insert, clears the change rows the load logged (timed apart), then
times a full rebuild against one plain GROUP BY scan of the raw visits (before and after it,
the faster counts), two incremental runs after one more day of visits each (the first of
the process compiles its statements; the second is the steady state of the clock's runs),
and dashboard JSON for a year of one center and of all centers. PostgreSQL runs in a throw-away
database created and dropped here (CITYHALL_BENCH_POSTGRES_URL names the server). Not a
test: the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    POSTGRES_SERVER, database_option, load, migrate, postgres_database)
from cityhall import create_app  # noqa: E402
from cityhall.config import TestingConfig  # noqa: E402
from cityhall.db import db  # noqa: E402

START = date(2023, 11, 1)
COLUMNS = ("id", "center_id", "district_code", "method", "first_visit", "checked_in_at",
           "checked_out_at", "checkout_method")
DISTRICTS = ("ota", "furui", "yamanoue", "hachiya", "kamono", "ibuka", "miwa", "shimokoda", "")


def visit_rows(days: list[date], centers: list[int], per_day: int, first_id: int, rng):
    """Yield (visit, children) rows: opening hours 9-16 in Tokyo, 1-2 children each."""
    vid = first_id
    for day in days:
        base = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=9)
        for center_id in centers:
            for _ in range(rng.randint(per_day // 2, per_day * 3 // 2)):
                start = base + timedelta(hours=9, seconds=rng.randrange(7 * 3600))
                end = start + timedelta(minutes=rng.randint(15, 150))
                yield ((vid, center_id, rng.choice(DISTRICTS) or None, "poster",
                        rng.random() < 0.05, start, end, "scan"),
                       [(vid, rng.randint(0, 80)) for _ in range(rng.choice((1, 1, 2)))])
                vid += 1


def insert_sqlite(engine, rows) -> int:
    """Bulk insert through the driver: executemany on one connection."""
    raw = engine.raw_connection()
    count = 0
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        batch, kids = [], []
        for visit, children in rows:
            batch.append(visit[:5] + tuple(t.strftime("%Y-%m-%d %H:%M:%S.%f") for t in visit[5:7])
                         + visit[7:])
            kids += children
            if len(batch) >= 50_000:
                count += _flush_sqlite(cur, batch, kids)
                batch, kids = [], []
        count += _flush_sqlite(cur, batch, kids)
        cur.execute("COMMIT")
    finally:
        raw.close()
    return count


def _flush_sqlite(cur, batch, kids) -> int:
    cur.executemany(f"INSERT INTO visits ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 8)})",
                    batch)
    cur.executemany("INSERT INTO visit_children (visit_id, age_months) VALUES (?, ?)", kids)
    return len(batch)


def insert_postgres(engine, rows) -> int:
    """Bulk insert with COPY (row triggers still fire, as for any insert)."""
    raw = engine.raw_connection()
    visits, kids, count = io.StringIO(), io.StringIO(), 0
    for visit, children in rows:
        values = [r"\N" if v is None else v.isoformat() if isinstance(v, datetime) else str(v)
                  for v in visit]
        visits.write("\t".join(values) + "\n")
        kids.writelines(f"{v}\t{a}\n" for v, a in children)
        count += 1
    try:
        with raw.cursor() as cur:
            with cur.copy(f"COPY visits ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(visits.getvalue())
            with cur.copy("COPY visit_children (visit_id, age_months) FROM STDIN") as copy:
                copy.write(kids.getvalue())
            cur.execute("SELECT setval('visits_id_seq', (SELECT max(id) FROM visits))")
        raw.commit()
    finally:
        raw.close()
    return count


def group_by_scan(engine) -> int:
    """The reference: one plain GROUP BY of the raw visits by center and (UTC) day."""
    day = ("date(checked_in_at)" if engine.dialect.name == "sqlite"
           else "CAST(checked_in_at AS date)")
    with engine.connect() as conn:
        return len(conn.exec_driver_sql(
            f"SELECT center_id, {day}, count(*), count(checked_out_at) FROM visits "
            f"GROUP BY center_id, {day}").all())


def add_centers(app, count: int) -> list[int]:
    """Seed the city and add centers up to `count`."""
    from cityhall.seed import seed
    from models import Center

    with app.app_context(), db.transaction() as session:
        seed(session)
        for n in range(3, count):
            session.add(Center(code=f"c{n:02}", name_ja=f"センター{n}", name_en=f"Center {n}"))
    with app.app_context(), db.session() as session:
        return list(session.scalars(sa.select(Center.id).order_by(Center.id)))


def timed(func, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - started, result


PROFILE = False  # --profile: cProfile each aggregation run, print its top lines


def aggregate(app, full: bool, now: datetime):
    from cityhall.city import current_city
    from dashboards import aggregate as agg

    with app.app_context(), db.transaction() as session:
        run = agg.rebuild if full else agg.aggregate
        if not PROFILE:
            return run(session, now, city=current_city())
        profile = cProfile.Profile()
        result = profile.runcall(run, session, now, city=current_city())
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
    print("\n".join("    " + line for line in out.getvalue().splitlines()
                    if line.strip())[:3000], flush=True)
    return result


def staff_client(app):
    from models.staff import StaffRole, StaffUser
    from staff.passwords import hash_password

    import pyotp

    password = "bench password 12345"
    secret = pyotp.random_base32()
    with app.app_context(), db.transaction() as session:
        session.add(StaffUser(username="bench", role=StaffRole.ADMIN, display_name="Bench",
                              password_hash=hash_password(password), totp_secret=secret))
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    client.post("/staff/login", data={"username": "bench", "password": password,
                                      "csrf_token": token})
    # Admins sign in with a second factor too.
    client.post("/staff/login/code", data={"code": pyotp.TOTP(secret).now(),
                                           "csrf_token": token})
    return client


def endpoint_times(client, query: str) -> dict[str, float]:
    """Return the median of 3 GETs per chart's JSON, in ms."""
    times = {}
    for chart in ("usage", "heatmap", "districts", "ages", "households", "stay", "centers",
                  "forecast"):
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get(f"/staff/api/dashboards/{chart}?{query}")
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (chart, response.status_code)
        times[chart] = statistics.median(samples)
    return times


def run(name: str, url: str, args) -> None:
    migrate(url)
    app = create_app(TestingConfig(DATABASE_URL=url))
    centers = add_centers(app, args.centers)
    rng = random.Random(7)
    days = [START + timedelta(days=n) for n in range(int(args.years * 365))]
    insert = insert_postgres if name == "postgresql" else insert_sqlite
    engine = app.extensions["cityhall.db"][0]
    seconds, count = timed(insert, engine, visit_rows(days, centers, args.per_day, 1, rng))
    print(f"  {name}: generated {count:,} visits in {seconds:.0f} s")
    end = days[-1]
    now = datetime(end.year, end.month, end.day, 12, tzinfo=UTC)
    # The bulk load's triggers logged 2.3 million changes, which the five-minute runs would
    # have consumed as the visits came in; a nightly rebuild finds a few minutes' worth.
    # Cleared here, timed apart from the rebuild.
    started = time.perf_counter()
    with engine.begin() as conn:
        logged = conn.exec_driver_sql("DELETE FROM visit_changes").rowcount
    print(f"  {name}: cleared the bulk load's {logged:,} change rows in "
          f"{time.perf_counter() - started:.1f} s (not part of the rebuild below)")
    # Statistics and a warm cache for both contenders. On PostgreSQL also VACUUM, as
    # autovacuum would after a bulk load: the children's band-count triggers updated each
    # visit row once or twice, leaving dead row versions both scans would read.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if name == "postgresql" else "ANALYZE")
    scan_before = timed(group_by_scan, engine)[0]
    before = load()
    seconds, result = timed(aggregate, app, True, now)
    scan = min(scan_before, timed(group_by_scan, engine)[0])
    print(f"aggregation {name}: full rebuild {seconds:.2f} s | one GROUP BY scan of the raw "
          f"visits {scan:.2f} s | ratio {seconds / scan:.1f}x (goal <= 5x) | {count:,} visits | "
          f"load {before}..{load()}", flush=True)
    print(f"  {name}: {result}; {count / seconds:,.0f} visits/s", flush=True)
    if name == "postgresql":  # the rebuild deleted rows, as autovacuum would clear them
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE visit_changes")
    # Two more days, one at a time: the first incremental run of the process compiles its
    # statements (SQLAlchemy caches them), the second is what the clock's five-minute runs
    # cost from then on.
    for n, label in ((1, "first run of the process"), (2, "next run")):
        extra = [end + timedelta(days=n)]
        added = insert(engine, visit_rows(extra, centers, args.per_day, count + 1, rng))
        count += added
        before = load()
        seconds, result = timed(aggregate, app, False, now + timedelta(days=n))
        print(f"aggregation {name}: incremental after one more day, {label}: {seconds:.3f} s | "
              f"goal 0.1 s | ratio {seconds / 0.1:.2f}x of the goal ({result}) | "
              f"load {before}..{load()}", flush=True)
    client = staff_client(app)
    year = f"start={end - timedelta(days=364)}&end={end}"
    for label, query in (("one center", f"{year}&center=central"), ("all centers", year)):
        times = endpoint_times(client, query)
        worst = max(times, key=times.get)
        print(f"  {name}: JSON, a year of {label}: median {statistics.median(times.values()):.0f} ms,"
              f" slowest {worst} {times[worst]:.0f} ms  {({k: round(v) for k, v in times.items()})}")
    engine.dispose()


def slow_statements() -> None:
    """Print every statement that takes longer than 20 ms (for profiling the rebuild)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("started", []).append(time.perf_counter())

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - conn.info["started"].pop()
        if took > float(os.environ.get("BENCH_STATEMENT_SECONDS", "0.02")):
            print(f"    {took:7.3f} s  {' '.join(statement.split())[:150]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--centers", type=int, default=20)
    parser.add_argument("--per-day", type=int, default=45)
    database_option(parser)
    parser.add_argument("--statements", action="store_true",
                        help="print each SQL statement slower than 20 ms with its time")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile each aggregation run and print its top lines")
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    if args.statements:
        slow_statements()
    print(f"{args.years} years, {args.centers} centers, ~{args.per_day} visits a day each; "
          f"{os.cpu_count()} CPUs")
    if args.database in ("sqlite", "both"):
        run("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3", args)
    if args.database in ("postgresql", "both"):
        server = POSTGRES_SERVER
        url, drop = postgres_database(server)
        try:
            run("postgresql", url, args)
        finally:
            drop()


if __name__ == "__main__":
    main()
