"""The clock process: APScheduler 3.x, and nothing else, in exactly one process.

Exactly one: before scheduling anything the clock takes a lock that lives as long as the
process, and a second clock started by mistake waits for it and runs nothing meanwhile. On
PostgreSQL it is a session-level advisory lock on a connection of its own, which the server
drops the moment the holder's connection ends (exit, crash, lost host); on SQLite, where every
process shares one machine anyway, it is an exclusive flock on a file beside the database,
which the kernel drops when the holder's process ends. The waiting clock takes over within
CLOCK_LOCK_POLL_SECONDS. See docs/decisions.md.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import IO

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from cityhall.jobs import run_job
from models import utcnow

log = logging.getLogger(__name__)

# The advisory lock's key: any fixed 64-bit number; this one is derived from a name so it
# does not collide by chance with a lock another program on the same server takes.
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"cityhall.clock").digest()[:8], "big",
                                   signed=True)
# How often the lock holder checks that its PostgreSQL session is still alive.
HEARTBEAT_SECONDS = 30


class ClockLock:
    """The one-clock lock: `acquire` waits until this process holds it; `release` lets go."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None
        self.file: IO[bytes] | None = None
        self.lost = False

    @property
    def postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def lock_path(self) -> Path:
        """The SQLite lock file: the database file's name plus `.clock.lock`."""
        database = make_url(str(self.engine.url)).database or ""
        if not database or database == ":memory:":
            raise RuntimeError("the clock needs a database file or PostgreSQL, not :memory:")
        return Path(database + ".clock.lock")

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return whether this process now holds it."""
        if self.postgresql:
            if self.connection is None:
                # AUTOCOMMIT: the lock is the session's, no transaction stays open for days.
                self.connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
            got = self.connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": ADVISORY_LOCK_KEY}).scalar()
            return bool(got)
        if self.file is None:
            self.file = open(self.lock_path(), "ab")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.file.truncate(0)
        self.file.write(f"{os.getpid()}\n".encode())
        self.file.flush()
        return True

    def acquire(self, poll_seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait until the lock is ours (True), or until `stop` is set (False)."""
        stop = stop or threading.Event()
        waiting = False
        while not stop.is_set():
            if self.try_acquire():
                if waiting:
                    log.warning("clock lock acquired: taking over from the previous clock")
                return True
            if not waiting:
                log.warning("another clock holds the clock lock: this one waits and runs no job")
                waiting = True
            stop.wait(poll_seconds)
        return False

    def alive(self) -> bool:
        """Tell whether the lock is still held (PostgreSQL: the session still answers)."""
        if not self.postgresql:
            return self.file is not None
        try:
            self.connection.execute(text("SELECT 1"))
            return True
        except Exception:
            log.exception("the clock lock's PostgreSQL session is gone")
            return False

    def release(self) -> None:
        """Let go of the lock (exiting does the same)."""
        if self.connection is not None:
            try:
                self.connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                        {"key": ADVISORY_LOCK_KEY})
            finally:
                self.connection.close()
                self.connection = None
        if self.file is not None:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_UN)
            self.file.close()
            self.file = None


def _run(app: Flask, name: str) -> None:
    with app.app_context():
        try:
            result = run_job(name, utcnow())
            log.info("job %s done: %s", name, result)
        except Exception:
            log.exception("job %s failed", name)


def build_scheduler(app: Flask) -> BlockingScheduler:
    """Schedule every registered job in the city's time zone."""
    scheduler = BlockingScheduler(timezone=app.config["CITYHALL_TIMEZONE"])
    for job in app.extensions["cityhall.features"].jobs.values():
        # coalesce + one instance: a late clock runs a missed job once, never in parallel.
        scheduler.add_job(_run, job.trigger, args=(app, job.name), id=job.name,
                          coalesce=True, max_instances=1, misfire_grace_time=3600,
                          **job.trigger_args)
    return scheduler


def _watch(lock: ClockLock, scheduler: BlockingScheduler) -> None:
    # A lost session means a lost lock: stop, so the supervisor restarts a clock that waits.
    if not lock.alive():
        log.error("clock lock lost: stopping the clock")
        lock.lost = True
        scheduler.shutdown(wait=False)


def run_clock(app: Flask) -> None:
    """Wait for the clock lock, then start the scheduler and block until stopped."""
    engine = app.extensions["cityhall.db"][0]
    lock = ClockLock(engine)
    try:
        if not lock.acquire(float(app.config.get("CLOCK_LOCK_POLL_SECONDS", 5))):
            return
        scheduler = build_scheduler(app)
        if lock.postgresql:
            scheduler.add_job(_watch, "interval", args=(lock, scheduler), id="clock-lock-watch",
                              seconds=HEARTBEAT_SECONDS, coalesce=True, max_instances=1)
        log.info("clock started with jobs: %s",
                 ", ".join(sorted(app.extensions["cityhall.features"].jobs)))
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("clock stopped")
    finally:
        lock.release()
    if lock.lost:
        raise SystemExit("clock lock lost")
