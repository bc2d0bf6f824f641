"""The engine's scheduled job: drop forms left unfinished longer than FORM_EXPIRY_MINUTES."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.orm import Session

from cityhall.jobs import job
from models.conversation import Conversation


@job("expire-forms", "interval", "Drop forms left unfinished too long", minutes=30)
def expire_forms(session: Session, now: datetime) -> int:
    """Delete conversations untouched for longer than the expiry; return how many."""
    limit = timedelta(minutes=current_app.config["FORM_EXPIRY_MINUTES"])
    result = session.execute(delete(Conversation).where(Conversation.updated_at < now - limit))
    return result.rowcount
