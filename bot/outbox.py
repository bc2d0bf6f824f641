"""Write pushes into the outbox, in the caller's transaction (transactional outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from models import OutboxMessage

MULTICAST_LIMIT = 500  # LINE's limit of user IDs per multicast request
MESSAGES_LIMIT = 5  # LINE's limit of messages per request


def enqueue(session: Session, user_ids: Sequence[str], messages: list[dict[str, Any]],
            source: str | None = None) -> list[OutboxMessage]:
    """Queue the same messages for these users: one push, or multicasts of up to 500."""
    if not 1 <= len(messages) <= MESSAGES_LIMIT:
        raise ValueError(f"a LINE request carries 1 to {MESSAGES_LIMIT} messages, not {len(messages)}")
    unique_ids = list(dict.fromkeys(user_ids))
    rows = [
        OutboxMessage(recipients=unique_ids[i:i + MULTICAST_LIMIT], messages=messages, source=source,
                      retry_key=str(uuid.uuid4()))
        for i in range(0, len(unique_ids), MULTICAST_LIMIT)
    ]
    session.add_all(rows)
    return rows
