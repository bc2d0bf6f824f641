"""The clock's events jobs: pass unanswered offers on, and remind families the day before."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from cityhall.city import current_city
from cityhall.jobs import job
from events import services
from events.settings import offer_valid

log = logging.getLogger(__name__)


@job("event-offers", "cron", "Pass unanswered waitlist offers to the next household; close "
     "the waitlists of events that started", minute="*")
def event_offers(session: Session, now: datetime) -> int:
    """Expire offers past their time (each once: a conditional UPDATE) and offer the places on.

    Idempotent: an expired offer is never expired again, and a waitlist closes once.
    """
    count = services.expire_offers(session, now, city=current_city(), offer_valid=offer_valid())
    log.info("expired %s waitlist offers", count)
    return count


@job("event-reminders", "cron", "Remind every reservation of tomorrow's events, once",
     hour=17, minute=0)
def event_reminders(session: Session, now: datetime) -> int:
    """Queue the day-before reminder of each reservation not reminded yet (once each)."""
    count = services.send_reminders(session, now, city=current_city())
    log.info("queued %s event reminders", count)
    return count
