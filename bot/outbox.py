"""Write pushes into the outbox, in the caller's transaction (transactional outbox)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select, update
from sqlalchemy.orm import Session

from models import OutboxMessage, OutboxStatus

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


FINISHED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SKIPPED)


def forget_recipient(session: Session, line_user_id: str, now: datetime) -> int:
    """Take a user out of the outbox (their data is being erased); return the rows changed.

    A push to them that is still due is dropped, a finished one loses its payload, and they
    leave the recipients of every multicast. Rows the caller queues afterwards (the erasure's
    own confirmation) are untouched.
    """
    changed = 0
    for row in _rows_naming(session, line_user_id):
        others = [u for u in row.recipients if u != line_user_id]
        if others:
            row.recipients = others
        else:
            drop_or_purge(session, row, now)
        changed += 1
    session.flush()
    return changed


def _rows_naming(session: Session, line_user_id: str) -> list[OutboxMessage]:
    """Return the rows whose recipients include this user (rare: erasure only, so a scan)."""
    quoted = json.dumps(line_user_id)
    pattern = "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    candidates = session.scalars(select(OutboxMessage).where(
        cast(OutboxMessage.recipients, Text).like(pattern, escape="\\")))
    return [row for row in candidates if line_user_id in row.recipients]


def drop_or_purge(session: Session, row: OutboxMessage, now: datetime) -> None:
    """Delete a row still due (it is never sent), or clear a finished row's payload."""
    if row.status == OutboxStatus.PENDING:
        session.delete(row)
    else:
        row.recipients, row.messages, row.purged_at = [], [], now


def purge_finished(session: Session, before: datetime, now: datetime) -> int:
    """Clear recipients and messages of finished rows created before `before`; return how many.

    Idempotent: a purged row is marked and never touched again. Pending rows are never purged.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status.in_(FINISHED), OutboxMessage.created_at < before,
               OutboxMessage.purged_at.is_(None))
        .values(recipients=[], messages=[], purged_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount
