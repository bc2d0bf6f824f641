"""What the webhook's records (`processed_events`, `failed_events`) may keep about a LINE user."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from models import ProcessedEvent
from models.webhook import FailedEvent


def forget_user_events(session: Session, line_user_id: str) -> int:
    """Drop the user's id from the dedup records (their data is being erased); event ids stay.

    The user's failed events go entirely: each holds what they sent, and replaying it after
    the erasure would bring their data back.
    """
    session.execute(delete(FailedEvent).where(FailedEvent.line_user_id == line_user_id)
                    .execution_options(synchronize_session=False))
    result = session.execute(
        update(ProcessedEvent).where(ProcessedEvent.line_user_id == line_user_id)
        .values(line_user_id=None).execution_options(synchronize_session=False))
    return result.rowcount
