"""The worker: deliver due outbox rows to LINE, push or multicast, with retries.

Each row keeps one X-Line-Retry-Key for all its attempts, so a request LINE already
accepted answers 409 on a retry and is counted as sent, never delivered twice. Rows are
claimed with FOR UPDATE SKIP LOCKED so several workers can share the outbox on PostgreSQL.
"""

from __future__ import annotations

import logging
import random
import signal
import time
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.gateway import LineError, LineGateway
from models import OutboxMessage, OutboxStatus, Resident, utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300


def backoff(attempts: int) -> timedelta:
    """Exponential back-off with jitter: 2, 4, 8 ... seconds, capped at five minutes."""
    seconds = min(2 ** attempts, MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def claim_next(session: Session, now: datetime) -> OutboxMessage | None:
    """Lock the oldest due row that no other worker holds."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).first()


def active_recipients(session: Session, user_ids: list[str]) -> list[str]:
    """Drop the users who blocked the account."""
    blocked = set(session.scalars(
        select(Resident.line_user_id).where(Resident.line_user_id.in_(user_ids), Resident.blocked)
    ))
    return [u for u in user_ids if u not in blocked]


def deliver(session: Session, gateway: LineGateway, row: OutboxMessage, now: datetime,
            max_attempts: int) -> None:
    """Send one row and record the outcome on it."""
    recipients = active_recipients(session, row.recipients)
    if not recipients:
        row.status = OutboxStatus.SKIPPED
        row.last_error = "every recipient blocked the account"
        return
    row.attempts += 1
    try:
        # A push goes to one user; the retry key belongs to the row, so a retry after a lost
        # answer is refused with 409 by LINE instead of delivered twice.
        if len(row.recipients) == 1:
            gateway.push(recipients[0], row.messages, row.retry_key)
        else:
            gateway.multicast(recipients, row.messages, row.retry_key)
    except LineError as err:
        _record_failure(row, err, now, max_attempts)
        return
    row.status = OutboxStatus.SENT
    row.sent_at = now
    row.last_error = None


def _record_failure(row: OutboxMessage, err: LineError, now: datetime, max_attempts: int) -> None:
    if err.status == 409:
        # LINE already accepted a request with this retry key: it was delivered.
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = None
        return
    row.last_error = f"{err.status}: {err.message}"[:2000]
    if not err.retryable:
        row.status = OutboxStatus.FAILED
        log.warning("outbox %s failed for good: %s", row.id, row.last_error)
    elif row.attempts >= max_attempts:
        row.status = OutboxStatus.FAILED
        log.error("outbox %s gave up after %s attempts: %s", row.id, row.attempts, row.last_error)
    else:
        row.next_attempt_at = now + backoff(row.attempts)
        log.info("outbox %s will retry (%s)", row.id, row.last_error)


def drain_once(session_factory, gateway: LineGateway, *, batch_size: int = 50,
               max_attempts: int = 12, now: datetime | None = None) -> int:
    """Deliver up to `batch_size` due rows, each in its own short transaction; return the count.

    One row per transaction keeps locks short: on SQLite the write lock is held only for the
    final update, and on PostgreSQL a killed worker releases just the row it was sending.
    """
    done = 0
    for _ in range(batch_size):
        with session_factory() as session, session.begin():
            row = claim_next(session, now or utcnow())
            if row is None:
                break
            deliver(session, gateway, row, now or utcnow(), max_attempts)
            done += 1
    return done


def drain(session_factory, gateway: LineGateway, *, batch_size: int = 50,
          max_attempts: int = 12) -> int:
    """Deliver everything due now, batch after batch; return how many rows were tried."""
    total = 0
    while True:
        count = drain_once(session_factory, gateway, batch_size=batch_size,
                           max_attempts=max_attempts)
        total += count
        if count == 0:
            return total


def run_forever(session_factory, gateway: LineGateway, *, batch_size: int, max_attempts: int,
                poll_seconds: float) -> None:
    """Poll the outbox until SIGTERM or SIGINT."""
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started")
    while not stopping:
        try:
            count = drain_once(session_factory, gateway, batch_size=batch_size,
                               max_attempts=max_attempts)
        except Exception:
            log.exception("worker loop failed; retrying")
            count = 0
        if count == 0:
            time.sleep(poll_seconds)
    log.info("worker stopped")
