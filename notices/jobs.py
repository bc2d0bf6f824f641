"""The clock's notice jobs: send scheduled notices when due, and age-triggered reminders daily."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from cityhall.city import current_city
from cityhall.jobs import job
from notices import reminders, services
from notices.settings import NoticeSettings

log = logging.getLogger(__name__)


@job("send-due-notices", "interval", "Queue scheduled notices that are due (after quiet hours)",
     minutes=1)
def send_due_notices(session: Session, now: datetime) -> list[int]:
    """Queue every scheduled notice whose time has come; idempotent (a queued notice is done)."""
    queued = services.release_due(session, now, current_city(),
                                  NoticeSettings.from_config(current_app.config))
    if queued:
        log.info("queued notices %s", queued)
    return queued


@job("age-reminders", "cron", "Send each age reminder to a child's guardians once, ever",
     hour=10, minute=0)
def age_reminders(session: Session, now: datetime) -> int:
    """Send the reminders of children who reached their age; once per child (unique key)."""
    sent = reminders.send_due(session, now, current_city(),
                              NoticeSettings.from_config(current_app.config))
    log.info("age reminders for %s children", sent)
    return sent
