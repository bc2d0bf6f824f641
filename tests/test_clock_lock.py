"""Exactly one clock: a second `cityhall clock` waits, runs no job, and takes over at the end.

Two real clock processes on this test's database (SQLite and PostgreSQL) load a feature whose
only job ticks every second and writes the process id of the clock that ran it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from cityhall.clock import ClockLock
from tests.conftest import ROOT, process_env

TICKER = '''
import os
from pathlib import Path

from cityhall.features import Feature
from cityhall.jobs import job


@job("tick", "interval", "Write which clock ran", seconds=1)
def tick(session, now):
    with Path(os.environ["TICK_FILE"]).open("a") as out:
        out.write(f"{os.getpid()}\\n")
    return "tick"


feature = Feature(name="ticker", jobs=[tick])
'''
WAIT = 60  # seconds before a test gives up waiting for something that should happen


def start_clock(tmp_path: Path, database_url: str, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    env = process_env(DATABASE_URL=database_url, CITYHALL_FEATURES="ticker",
                      TICK_FILE=str(tmp_path / "ticks"), CLOCK_LOCK_POLL_SECONDS="0.2")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{tmp_path}"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cityhall", "clock"], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    return process, log


def ticks(tmp_path: Path) -> list[int]:
    path = tmp_path / "ticks"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def wait_for(predicate, what: str, processes=()) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        for process in processes:
            assert process.poll() is None, f"a clock exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(10)


def test_a_second_clock_waits_runs_nothing_and_takes_over(database_url, tmp_path):
    (tmp_path / "ticker").mkdir()
    (tmp_path / "ticker" / "__init__.py").write_text("")
    (tmp_path / "ticker" / "feature.py").write_text(TICKER)
    first, _ = start_clock(tmp_path, database_url, "first")
    second = None
    try:
        wait_for(lambda: first.pid in ticks(tmp_path), "the first clock's first tick", [first])
        second, second_log = start_clock(tmp_path, database_url, "second")
        wait_for(lambda: "another clock holds the clock lock" in second_log.read_text(),
                 "the second clock to see the lock taken", [first, second])
        # Three more ticks of the first clock, and none of the second's meanwhile.
        seen = len(ticks(tmp_path))
        wait_for(lambda: len(ticks(tmp_path)) >= seen + 3, "three more ticks", [first, second])
        assert set(ticks(tmp_path)) == {first.pid}

        stop(first)
        wait_for(lambda: second.pid in ticks(tmp_path), "the second clock to take over",
                 [second])
        assert "taking over from the previous clock" in second_log.read_text()
    finally:
        stop(first)
        if second is not None:
            stop(second)


def test_the_lock_is_held_once_and_free_again_after_release(database_url):
    engine = sa.create_engine(database_url)
    first, second = ClockLock(engine), ClockLock(engine)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.alive()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
        engine.dispose()


def test_an_in_memory_sqlite_database_cannot_hold_the_lock():
    engine = sa.create_engine("sqlite://")
    with pytest.raises(RuntimeError, match="database file or PostgreSQL"):
        ClockLock(engine).try_acquire()
