"""What the webhook's dedup records (`processed_events`) may keep about a LINE user."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from models import ProcessedEvent


def forget_user_events(session: Session, line_user_id: str) -> int:
    """Drop the user's id from the dedup records (their data is being erased); event ids stay."""
    result = session.execute(
        update(ProcessedEvent).where(ProcessedEvent.line_user_id == line_user_id)
        .values(line_user_id=None).execution_options(synchronize_session=False))
    return result.rowcount
