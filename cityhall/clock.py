"""The clock process: APScheduler 3.x, and nothing else, in exactly one process."""

from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from cityhall.jobs import run_job
from models import utcnow

log = logging.getLogger(__name__)


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


def run_clock(app: Flask) -> None:
    """Start the scheduler and block until stopped."""
    scheduler = build_scheduler(app)
    log.info("clock started with jobs: %s",
             ", ".join(sorted(app.extensions["cityhall.features"].jobs)))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("clock stopped")
