"""The engine's scheduled job: drop forms left unfinished longer than FORM_EXPIRY_MINUTES."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cityhall.city import current_city
from cityhall.jobs import job
from models.conversation import Conversation


@job("expire-forms", "interval", "Drop forms left unfinished too long", minutes=30)
def expire_forms(session: Session, now: datetime) -> int:
    """Delete conversations untouched for longer than the expiry; return how many."""
    limit = current_city().form_expiry
    result = session.execute(delete(Conversation).where(Conversation.updated_at < now - limit))
    return result.rowcount
