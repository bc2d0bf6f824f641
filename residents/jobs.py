"""The residents feature's clock job: mix recent anonymous survey answers (see surveys)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from cityhall.city import current_city
from cityhall.jobs import job
from residents import surveys

log = logging.getLogger(__name__)


@job("mix-survey-answers", "interval",
     "Rewrite recent anonymous answers so none shares a transaction with its sender's",
     minutes=10)
def mix_survey_answers(session: Session, now: datetime) -> int:
    """Rewrite the last two local days' survey answers and ballots; return how many answers."""
    count = surveys.mix_recent(session, current_city().today(now))
    log.info("mixed %s recent survey answers", count)
    return count
