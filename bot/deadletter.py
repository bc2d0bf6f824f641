"""The dead letter: webhook events whose handler failed for good, kept with their error.

Plain functions on a Session. The webhook keeps an event here after its retries; admins see
the list in the staff web and replay events with `cityhall webhook replay`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cityhall.db import dialect_insert
from models.webhook import FailedEvent


def keep(session: Session, raw: dict[str, Any], error: str, attempts: int, now: datetime,
         failed_id: int | None = None) -> None:
    """Store a failed event with its error; a known event (or a replayed row) is updated."""
    if failed_id is not None:
        session.execute(update(FailedEvent).where(FailedEvent.id == failed_id).values(
            error=error, attempts=FailedEvent.attempts + attempts, last_failed_at=now))
        return
    source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    event_id = raw.get("webhookEventId")
    insert = dialect_insert(session)(FailedEvent).values(
        webhook_event_id=str(event_id)[:64] if event_id else None,
        event_type=str(raw.get("type"))[:32], line_user_id=_user_id(source), payload=raw,
        error=error, attempts=attempts, first_failed_at=now, last_failed_at=now)
    if event_id:
        insert = insert.on_conflict_do_update(
            index_elements=["webhook_event_id"],
            set_={"error": insert.excluded.error, "payload": insert.excluded.payload,
                  "attempts": FailedEvent.attempts + insert.excluded.attempts,
                  "last_failed_at": insert.excluded.last_failed_at})
    session.execute(insert)


def _user_id(source: dict[str, Any]) -> str | None:
    user_id = source.get("userId")
    return user_id[:64] if isinstance(user_id, str) else None


def forget(session: Session, failed_id: int) -> None:
    """Delete a failed event once it has been processed (its payload is personal data)."""
    session.execute(delete(FailedEvent).where(FailedEvent.id == failed_id))


def listing(session: Session, limit: int | None = None, offset: int = 0) -> list[FailedEvent]:
    """Return the failed events, oldest first."""
    query = select(FailedEvent).order_by(FailedEvent.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def ids(session: Session) -> list[int]:
    """Return the ids of every failed event, oldest first."""
    return list(session.scalars(select(FailedEvent.id).order_by(FailedEvent.id)))


def get(session: Session, failed_id: int) -> FailedEvent | None:
    """Return one failed event by id."""
    return session.get(FailedEvent, failed_id)
