"""Benchmark of reports: the staff map's JSON over 50,000 reports, and the 50 m duplicate lookup.

`python bench/reports.py [--reports 50000] [--database sqlite|postgresql|both]` bulk-inserts
reports spread over the demo city, then times GET /staff/api/reports/map (all reports, as an
admin; median of 5: built with the cache emptied, from the cache, and a 304 revalidation) and `services.nearby_open` at random points (median of 200). PostgreSQL
runs in a throw-away database created and dropped here (CITYHALL_BENCH_POSTGRES_URL names the
server). Goals: map JSON under 300 ms, duplicate lookup under 20 ms. Not a test: the machine
is shared; print `uptime` beside the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.aggregate import staff_client  # noqa: E402
from bench.common import database_option, migrate, postgres_database  # noqa: E402
from cityhall import create_app  # noqa: E402
from cityhall.config import TestingConfig  # noqa: E402
from cityhall.db import db  # noqa: E402

STATUSES = ("received", "in_progress", "done", "not_ours")


def fill(app, count: int, rng: random.Random) -> None:
    """Insert reports in batches with plain INSERTs (receipt numbers made up, no photos)."""
    from cityhall.seed import seed
    from models.report import Report
    from reports import services
    from reports.geo import load_boundary

    city = load_boundary()
    with app.app_context(), db.transaction() as session:
        seed(session)
        categories = [c.id for c in services.categories(session)]
        departments = {c.id: c.department_id for c in services.categories(session)}
    now = datetime.now(UTC)
    batch = []
    with app.app_context():
        engine = app.extensions["cityhall.db"][0]
        for n in range(1, count + 1):
            lat, lon = _point(city, rng)
            category = rng.choice(categories)
            created = now - timedelta(minutes=rng.randrange(60 * 24 * 365))
            batch.append({"receipt_no": f"R-2026-{n:07d}", "category_id": category,
                          "department_id": departments[category], "status": rng.choice(STATUSES),
                          "latitude": lat, "longitude": lon, "details": {}, "contact_ok": False,
                          "public": False, "source": "bench", "created_at": created,
                          "updated_at": created})
            if len(batch) == 5000 or n == count:
                with engine.begin() as conn:
                    conn.execute(Report.__table__.insert(), batch)
                batch = []


def _point(city, rng) -> tuple[float, float]:
    min_lon, min_lat, max_lon, max_lat = city.bounds()
    while True:
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        if city.contains(lat, lon):
            return lat, lon


def map_json_ms(app, client) -> tuple[float, float, float, int]:
    """Time the map's JSON three ways (median of 5 each): built (the cache emptied before each
    request, as after a change), served from the cache, and answered 304 to a browser holding
    the body (the page's 15-second refresh when nothing changed)."""
    def timed(headers=None, empty=False) -> tuple[float, object]:
        if empty and "reports.map_cache" in app.extensions:
            app.extensions["reports.map_cache"].bodies.clear()
        started = time.perf_counter()
        response = client.get("/staff/api/reports/map", headers=headers or {})
        return (time.perf_counter() - started) * 1000, response

    built = [timed(empty=True) for _ in range(5)]
    response = built[-1][1]
    assert response.status_code == 200
    cached = [timed() for _ in range(5)]
    etag = {"If-None-Match": response.headers["ETag"]}
    revalidated = [timed(etag) for _ in range(5)]
    assert revalidated[-1][1].status_code == 304
    median = lambda runs: statistics.median(ms for ms, _ in runs)  # noqa: E731
    return median(built), median(cached), median(revalidated), len(response.get_json()["reports"])


def reference_ms(app) -> float:
    """The floor: the same columns of every report read with the bare driver, then json.dumps."""
    import json

    engine = app.extensions["cityhall.db"][0]
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        with engine.connect() as conn:
            raw = conn.connection.driver_connection.cursor()
            raw.execute("SELECT r.id, r.latitude, r.longitude, r.status, c.code, r.receipt_no "
                        "FROM reports r JOIN report_categories c ON c.id = r.category_id "
                        "ORDER BY r.id")
            json.dumps({"reports": raw.fetchall()}, separators=(",", ":"))
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def lookup_ms(app, rng) -> tuple[float, float]:
    from reports import services
    from reports.geo import load_boundary

    city = load_boundary()
    samples, found = [], []
    with app.app_context(), db.session() as session:
        categories = [c.id for c in services.categories(session)]
        for _ in range(200):
            lat, lon = _point(city, rng)
            started = time.perf_counter()
            hits = services.nearby_open(session, rng.choice(categories), lat, lon)
            samples.append((time.perf_counter() - started) * 1000)
            found.append(len(hits))
    return statistics.median(samples), statistics.mean(found)


def run(name: str, url: str, args) -> None:
    migrate(url)
    app = create_app(TestingConfig(DATABASE_URL=url))
    rng = random.Random(15)
    started = time.perf_counter()
    fill(app, args.reports, rng)
    print(f"  {name}: inserted {args.reports:,} reports in {time.perf_counter() - started:.0f} s")
    client = staff_client(app)
    load = os.getloadavg()[0]
    built, cached, revalidated, rows = map_json_ms(app, client)
    reference = reference_ms(app)
    print(f"  {name}: map JSON, {rows:,} markers (goal < 300 ms): built {built:.0f} ms, "
          f"cached {cached:.0f} ms, 304 {revalidated:.0f} ms; reference, bare driver + "
          f"json.dumps of the same rows: {reference:.0f} ms; built/reference "
          f"{built / reference:.2f}x; load {load:.1f} -> {os.getloadavg()[0]:.1f}")
    ms, mean_found = lookup_ms(app, rng)
    print(f"  {name}: 50 m duplicate lookup: median {ms:.2f} ms, {mean_found:.2f} found on "
          f"average (goal < 20 ms)")
    app.extensions["cityhall.db"][0].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=50_000)
    database_option(parser)
    args = parser.parse_args()
    print("load average:", os.getloadavg())
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args)
    if args.database in ("postgresql", "both"):
        server = os.environ.get("CITYHALL_BENCH_POSTGRES_URL",
                                "postgresql://postgres@127.0.0.1:5432/postgres")
        url, drop = postgres_database(server)
        try:
            run("postgresql", url, args)
        finally:
            drop()
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
