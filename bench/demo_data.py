"""How long `cityhall demo-data` takes at the demo's sizes, on SQLite and PostgreSQL.

`python bench/demo_data.py [--households 300] [--months 18] [--runs 3] [--database sqlite|postgresql|both]`
migrates a throw-away database per run (PostgreSQL: created and dropped here on the server
CITYHALL_BENCH_POSTGRES_URL names), seeds it, and times the whole load (every feature's demo
data and the rollups, one transaction) in-process, without the interpreter's start-up. As a
reference in the same run it times `cityhall seed`, the step `cityhall demo` already ran
before. Not a test: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import POSTGRES_SERVER, database_option, migrate, postgres_database  # noqa: E402
from cityhall import create_app  # noqa: E402
from cityhall.city import current_city  # noqa: E402
from cityhall.config import TestingConfig  # noqa: E402
from cityhall.db import db  # noqa: E402
from cityhall.demodata import load  # noqa: E402
from cityhall.features import current  # noqa: E402
from cityhall.seed import seed  # noqa: E402
from models import utcnow  # noqa: E402


def one_run(url: str, households: int, months: int) -> tuple[float, float, list[str]]:
    """Return (seed seconds, demo-data seconds, notes) on a freshly migrated database."""
    migrate(url)
    app = create_app(TestingConfig(DATABASE_URL=url))
    with app.app_context():
        started = time.perf_counter()
        with db.transaction() as session:
            seed(session, demo=True)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        with db.transaction() as session:
            outcome = load(session, current().features, now=utcnow(), city=current_city(),
                           households=households, months=months)
        loaded = time.perf_counter() - started
    app.extensions["cityhall.db"][0].dispose()
    return seeded, loaded, outcome.notes


def report(name: str, runs: list[tuple[float, float, list[str]]]) -> None:
    for note in runs[0][2]:
        print(f"  {name}: {note}")
    seeds = [r[0] for r in runs]
    loads = [r[1] for r in runs]
    print(f"  {name}: demo-data median {statistics.median(loads):.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in loads)}); reference seed median "
          f"{statistics.median(seeds):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=300)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--runs", type=int, default=3)
    database_option(parser)
    args = parser.parse_args()
    print(f"{args.households} households, {args.months} months; {os.cpu_count()} CPUs; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.database in ("sqlite", "both"):
        report("sqlite", [one_run(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3",
                                  args.households, args.months) for _ in range(args.runs)])
    if args.database in ("postgresql", "both"):
        server = POSTGRES_SERVER
        runs = []
        for _ in range(args.runs):
            url, drop = postgres_database(server)
            try:
                runs.append(one_run(url, args.households, args.months))
            finally:
                drop()
        report("postgresql", runs)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
