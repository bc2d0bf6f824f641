"""Scheduled jobs: plain functions of (session, now), idempotent per period.

The clock process schedules them; `cityhall jobs run NAME --now ISO` runs one by hand, and
tests call them directly. A feature lists its jobs in its declaration (`Feature.jobs`); the
`job` decorator only attaches the schedule to the function, it registers nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.outbox import purge_finished
from models import ProcessedEvent

log = logging.getLogger(__name__)

JobFunc = Callable[[Session, datetime], Any]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    trigger: str  # an APScheduler trigger name: "cron" or "interval"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __call__(self, session: Session, now: datetime) -> Any:
        return self.func(session, now)


def job(name: str, trigger: str, description: str = "", **trigger_args: Any):
    """Make a job of a function of (session, now) under a stable name; list it in a Feature."""
    def wrap(func: JobFunc) -> Job:
        return Job(name, func, trigger, trigger_args, description)
    return wrap


@job("prune-webhook-events", "cron", "Forget dedup records older than the retention period",
     hour=3, minute=30)
def prune_webhook_events(session: Session, now: datetime) -> int:
    """Delete dedup rows old enough that LINE will never redeliver their events."""
    days = current_app.config["WEBHOOK_EVENT_RETENTION_DAYS"]
    # A pending row is an event not processed yet (the recovery sweep's): never pruned.
    result = session.execute(delete(ProcessedEvent)
                             .where(ProcessedEvent.processed_at < now - timedelta(days=days),
                                    ProcessedEvent.pending.is_(False)))
    log.info("pruned %s webhook dedup rows", result.rowcount)
    return result.rowcount


@job("purge-outbox", "cron", "Clear recipients and messages of finished pushes past retention",
     hour=3, minute=45)
def purge_outbox(session: Session, now: datetime) -> int:
    """Clear the payload of outbox rows finished more than OUTBOX_RETENTION_DAYS ago."""
    days = current_app.config["OUTBOX_RETENTION_DAYS"]
    count = purge_finished(session, now - timedelta(days=days), now)
    log.info("purged the payload of %s outbox rows", count)
    return count


def jobs() -> Mapping[str, Job]:
    """Return the jobs of the loaded features (the current app's), by name."""
    from cityhall import features

    return features.current().jobs


def __getattr__(name: str) -> Any:
    # `JOBS` reads the loaded features' jobs, so `from cityhall.jobs import JOBS` keeps working.
    if name == "JOBS":
        return jobs()
    raise AttributeError(name)


def run_job(name: str, now: datetime) -> Any:
    """Run one job by name in its own transaction."""
    from cityhall.db import db

    with db.transaction() as session:
        return jobs()[name].func(session, now)
