"""The worker and the clock start without pandas or Plotly: only dashboard views load them.

Each check runs in a fresh interpreter (this test process has long imported everything),
builds the process as its `cityhall` command does, and lists what it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import process_env

HEAVY = ("pandas", "plotly", "numpy", "openpyxl")

START = {
    # What `cityhall worker` builds before its first poll.
    "worker": """
from cityhall.cli import load_app
app = load_app()
with app.app_context():
    from bot import worker
    from bot.gateway import gateway
    gateway()
""",
    # What `cityhall clock` builds before it starts the scheduler.
    "clock": """
from cityhall.cli import load_app
from cityhall.clock import ClockLock, build_scheduler
app = load_app()
with app.app_context():
    build_scheduler(app)
    ClockLock(app.extensions["cityhall.db"][0])
""",
    # Building a frame and a workbook, as a dashboard and an export do, loads them: so the
    # check would notice if the names it looks for were wrong. (Plotly's Python package is
    # never imported at run time: its JavaScript is served as files.)
    "dashboards view": """
from datetime import date

from cityhall.cli import load_app
app = load_app()
with app.app_context():
    from dashboards import queries
    from staff import exports
    queries.weekday_counts(date(2026, 1, 1), date(2026, 1, 31))
    exports.rows_xlsx(["a"], [["b"]], "sheet")
""",
}


def imported_after(code: str, database_url: str) -> set[str]:
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script],
                          env=process_env(DATABASE_URL=database_url), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


@pytest.mark.parametrize("process", ["worker", "clock"])
def test_worker_and_clock_do_not_import_pandas_or_plotly(process, tmp_path):
    database = tmp_path / "empty.sqlite3"
    database.touch()
    loaded = imported_after(START[process], f"sqlite:///{database}")
    assert "flask" in loaded and "sqlalchemy" in loaded  # the app really was built
    assert not loaded & set(HEAVY), f"{process} imported {sorted(loaded & set(HEAVY))}"


def test_building_a_frame_and_a_workbook_loads_pandas_and_openpyxl(tmp_path):
    database = tmp_path / "empty.sqlite3"
    database.touch()
    loaded = imported_after(START["dashboards view"], f"sqlite:///{database}")
    assert {"pandas", "numpy", "openpyxl"} <= loaded and "plotly" not in loaded
