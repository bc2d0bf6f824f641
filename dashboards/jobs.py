"""The clock's aggregation jobs: incremental every few minutes, a full rebuild at night."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from cityhall.city import current_city
from cityhall.jobs import job
from dashboards import aggregate

log = logging.getLogger(__name__)


@job("aggregate-visits", "interval", "Bring the dashboards' rollups up to date", minutes=5)
def aggregate_visits(session: Session, now: datetime) -> str:
    """Recompute the rollups of the days whose visits changed since the last run."""
    result = aggregate.aggregate(session, now, city=current_city())
    log.info("aggregation: %s", result)
    return str(result)


@job("rebuild-rollups", "cron", "Rebuild the dashboards' rollups from all visits",
     hour=2, minute=40)
def rebuild_rollups(session: Session, now: datetime) -> str:
    """Rebuild every rollup: a safety net in case the time zone or the age bands changed."""
    result = aggregate.rebuild(session, now, city=current_city())
    log.info("rollups rebuilt: %s", result)
    return str(result)
