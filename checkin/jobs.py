"""The clock's check-in job: at each center's closing time, check out everyone still inside."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from bot import messages
from bot.outbox import enqueue
from checkin import services
from cityhall.city import City, current_city
from cityhall.i18n import format_clock, translate
from cityhall.jobs import job
from models import Center, Resident
from models.visit import Visit

log = logging.getLogger(__name__)


@job("auto-checkout", "cron", "Check out everyone still inside after their center closed",
     minute="*/5")
def auto_checkout(session: Session, now: datetime) -> int:
    """End visits open past closing time and tell each resident; return how many ended.

    Idempotent: a visit ends once (a conditional UPDATE), so a rerun, a late clock or a
    manual run for the same period sends nothing twice.
    """
    city = current_city()
    ended = services.auto_check_out(session, now, city=city)
    for visit in ended:
        notify(session, visit, city)
    log.info("auto check-out ended %s visits", len(ended))
    return len(ended)


def notify(session: Session, visit: Visit, city: City) -> None:
    """Queue the "you were checked out" push for the resident who checked in, if any."""
    resident = session.get(Resident, visit.resident_id) if visit.resident_id else None
    if resident is None or resident.blocked:
        return
    center = session.get(Center, visit.center_id)
    text = translate(resident.language, "%(center)s has closed, so you were checked out at "
                     "%(time)s. Thank you for coming!", center=center.name(resident.language),
                     time=format_clock(resident.language, city.local(visit.checked_out_at)))
    enqueue(session, [resident.line_user_id], [messages.text(text)],
            source=f"auto-checkout:{visit.id}")
