"""The worker: deliver due outbox rows to LINE, push or multicast, with retries.

A row is leased, sent outside any transaction, then recorded. Each row keeps one
X-Line-Retry-Key for all its attempts, so when a worker dies between LINE accepting a
request and recording it, the retry after the lease gets 409 from LINE and counts as sent:
nothing is lost and nothing delivered twice. Leases are taken with FOR UPDATE SKIP LOCKED,
so several workers share the outbox on PostgreSQL; on SQLite one worker runs.
"""

from __future__ import annotations

import logging
import random
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.gateway import LineError, LineGateway
from models import OutboxMessage, OutboxStatus, Resident, utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300
# Longer than one LINE call can take (connect + read timeouts), so a lease only expires
# when its worker is gone.
LEASE = timedelta(seconds=60)


def backoff(attempts: int) -> timedelta:
    """Exponential back-off with jitter: 2, 4, 8 ... seconds, capped at five minutes."""
    seconds = min(2 ** attempts, MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class Delivery:
    """What one attempt sends: taken from a leased row, sent with no transaction open."""

    row_id: int
    recipients: list[str]
    messages: list[dict[str, Any]]
    retry_key: str
    multicast: bool


def lease_next(session: Session, now: datetime) -> Delivery | None:
    """Lease the oldest due row that no other worker holds; None when nothing is due."""
    row = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        return None
    row.attempts += 1
    row.next_attempt_at = now + LEASE
    recipients = active_recipients(session, row.recipients)
    row.skipped = len(row.recipients) - len(recipients)
    if not recipients:
        row.status = OutboxStatus.SKIPPED
        row.last_error = "every recipient blocked the account"
        return Delivery(row.id, [], row.messages, row.retry_key, False)
    return Delivery(row.id, recipients, row.messages, row.retry_key, len(row.recipients) > 1)


def active_recipients(session: Session, user_ids: list[str]) -> list[str]:
    """Drop the users who blocked the account."""
    blocked = set(session.scalars(
        select(Resident.line_user_id).where(Resident.line_user_id.in_(user_ids), Resident.blocked)
    ))
    return [u for u in user_ids if u not in blocked]


def send(gateway: LineGateway, delivery: Delivery) -> LineError | None:
    """Make the LINE call; return the error, if any."""
    try:
        if delivery.multicast:
            gateway.multicast(delivery.recipients, delivery.messages, delivery.retry_key)
        else:
            gateway.push(delivery.recipients[0], delivery.messages, delivery.retry_key)
    except LineError as err:
        return err
    return None


def record(row: OutboxMessage, err: LineError | None, now: datetime, max_attempts: int) -> None:
    """Store the outcome of an attempt on its row."""
    if err is None or err.status == 409:
        # 409: LINE already accepted a request with this retry key, so it was delivered.
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


def deliver_next(session_factory, gateway: LineGateway, max_attempts: int,
                 now: datetime | None = None) -> bool:
    """Lease, send and record one row; False when nothing is due."""
    with session_factory() as session, session.begin():
        delivery = lease_next(session, now or utcnow())
    if delivery is None:
        return False
    if not delivery.recipients:
        return True
    err = send(gateway, delivery)
    with session_factory() as session, session.begin():
        row = session.get(OutboxMessage, delivery.row_id)
        if row is None:  # dropped meanwhile by an erasure: nothing left to record
            return True
        record(row, err, now or utcnow(), max_attempts)
    return True


def drain_once(session_factory, gateway: LineGateway, *, batch_size: int = 50,
               max_attempts: int = 12, now: datetime | None = None) -> int:
    """Deliver up to `batch_size` due rows; return how many were tried."""
    done = 0
    while done < batch_size and deliver_next(session_factory, gateway, max_attempts, now):
        done += 1
    return done


def drain(session_factory, gateway: LineGateway, *, batch_size: int = 50,
          max_attempts: int = 12, now: datetime | None = None) -> int:
    """Deliver everything due, batch after batch; return how many attempts were made."""
    total = 0
    while True:
        count = drain_once(session_factory, gateway, batch_size=batch_size,
                           max_attempts=max_attempts, now=now)
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
