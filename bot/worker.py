"""The worker: deliver due outbox rows to LINE, push or multicast, with retries.

Rows are leased in batches (one transaction), sent outside any transaction by a bounded
pool of threads at the pace LINE allows (a Pacer per endpoint that halves its rate on a
429), then the batch's outcomes are recorded in one transaction. Each row keeps one
X-Line-Retry-Key for all its attempts, so when a worker dies between LINE accepting a
request and recording it, the retry after the lease gets 409 from LINE and counts as sent:
nothing is lost and nothing delivered twice. Leases are taken with FOR UPDATE SKIP LOCKED,
so several workers share the outbox on PostgreSQL; on SQLite one worker runs.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


class Pacer:
    """Keep each endpoint under its rate limit, and slow down when LINE answers 429.

    A token bucket per endpoint (push, multicast) refilled at the current rate, capped at
    the configured limit. A 429 halves that endpoint's rate and holds its sends for a
    second; each success wins back 1% of the limit, so the rate settles just under what
    LINE takes instead of hammering it.
    """

    def __init__(self, push_rate: float, multicast_rate: float) -> None:
        self._limits = {False: push_rate, True: multicast_rate}
        self._rates = dict(self._limits)
        self._next = {False: 0.0, True: 0.0}
        self._lock = threading.Lock()

    def rate(self, multicast: bool) -> float:
        return self._rates[multicast]

    def wait(self, multicast: bool) -> None:
        """Return when the next request to this endpoint may go."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next[multicast])
            self._next[multicast] = slot + 1.0 / self._rates[multicast]
            limit = self._limits[multicast]
            self._rates[multicast] = min(limit, self._rates[multicast] + limit * 0.01)
        if slot > now:
            time.sleep(slot - now)

    def throttled(self, multicast: bool) -> None:
        """LINE answered 429: halve the rate and pause this endpoint for a second."""
        with self._lock:
            limit = self._limits[multicast]
            self._rates[multicast] = max(limit / 100, self._rates[multicast] / 2)
            self._next[multicast] = max(self._next[multicast], time.monotonic() + 1.0)
        log.warning("LINE answered 429 for %s; slowing down to %.0f requests/s",
                    "multicast" if multicast else "push", self._rates[multicast])


class Sender:
    """Send a batch with a bounded pool of threads, paced by a Pacer."""

    def __init__(self, threads: int, pacer: Pacer | None = None) -> None:
        self.threads = max(1, threads)
        self.pacer = pacer
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="outbox-send")

    def send_all(self, gateway: LineGateway,
                 deliveries: list[Delivery]) -> list[tuple[Delivery, LineError | None]]:
        errors = self._pool.map(lambda d: send(gateway, d, self.pacer), deliveries)
        return list(zip(deliveries, errors))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class Delivery:
    """What one attempt sends: taken from a leased row, sent with no transaction open."""

    row_id: int
    recipients: list[str]
    messages: list[dict[str, Any]]
    retry_key: str
    multicast: bool


def lease_batch(session: Session, now: datetime, limit: int,
                lease: timedelta = LEASE) -> list[Delivery]:
    """Lease up to `limit` of the oldest due rows no other worker holds, in one statement.

    Each leased row counts an attempt and is due again only when the lease is over; a row
    whose recipients all blocked the account is skipped here and not sent.
    """
    rows = list(session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))
    if not rows:
        return []
    blocked = blocked_among(session, {u for row in rows for u in row.recipients})
    deliveries = []
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
        recipients = [u for u in row.recipients if u not in blocked]
        if not recipients:
            row.status = OutboxStatus.SKIPPED
            row.last_error = "every recipient blocked the account"
        deliveries.append(Delivery(row.id, recipients, row.messages, row.retry_key,
                                   len(row.recipients) > 1))
    return deliveries


def lease_next(session: Session, now: datetime) -> Delivery | None:
    """Lease the oldest due row that no other worker holds; None when nothing is due."""
    leased = lease_batch(session, now, 1)
    return leased[0] if leased else None


def blocked_among(session: Session, user_ids: set[str]) -> set[str]:
    """Return the users among these who blocked the account (one query per 5,000)."""
    ids, blocked = sorted(user_ids), set()
    for start in range(0, len(ids), 5000):
        blocked.update(session.scalars(
            select(Resident.line_user_id)
            .where(Resident.line_user_id.in_(ids[start:start + 5000]), Resident.blocked)))
    return blocked


def active_recipients(session: Session, user_ids: list[str]) -> list[str]:
    """Drop the users who blocked the account."""
    blocked = blocked_among(session, set(user_ids))
    return [u for u in user_ids if u not in blocked]


def send(gateway: LineGateway, delivery: Delivery, pacer: Pacer | None = None) -> LineError | None:
    """Make the LINE call (at the pace LINE allows); return the error, if any."""
    if pacer is not None:
        pacer.wait(delivery.multicast)
    try:
        if delivery.multicast:
            gateway.multicast(delivery.recipients, delivery.messages, delivery.retry_key)
        else:
            gateway.push(delivery.recipients[0], delivery.messages, delivery.retry_key)
    except LineError as err:
        if pacer is not None and err.status == 429:
            pacer.throttled(delivery.multicast)
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


def record_batch(session: Session, outcomes: list[tuple[Delivery, LineError | None]],
                 now: datetime, max_attempts: int) -> None:
    """Store the outcomes of a batch in one transaction (rows erased meanwhile are gone)."""
    ids = [delivery.row_id for delivery, _err in outcomes]
    rows = {row.id: row for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
    for delivery, err in outcomes:
        row = rows.get(delivery.row_id)
        if row is None:  # dropped meanwhile by an erasure: nothing left to record
            continue
        record(row, err, now, max_attempts)


def deliver_batch(session_factory, gateway: LineGateway, max_attempts: int, *, limit: int,
                  now: datetime | None = None, sender: Sender | None = None) -> int:
    """Lease up to `limit` rows, send them (concurrently with a Sender), record; return count.

    Two transactions per batch, none open while LINE is called.
    """
    lease = LEASE + timedelta(seconds=15) * (limit // max(1, sender.threads if sender else 1))
    with session_factory() as session, session.begin():
        deliveries = lease_batch(session, now or utcnow(), limit, lease)
    if not deliveries:
        return 0
    to_send = [d for d in deliveries if d.recipients]
    if sender is None:
        outcomes = [(d, send(gateway, d)) for d in to_send]
    else:
        outcomes = sender.send_all(gateway, to_send)
    if outcomes:
        with session_factory() as session, session.begin():
            record_batch(session, outcomes, now or utcnow(), max_attempts)
    return len(deliveries)


def deliver_next(session_factory, gateway: LineGateway, max_attempts: int,
                 now: datetime | None = None) -> bool:
    """Lease, send and record one row; False when nothing is due."""
    return deliver_batch(session_factory, gateway, max_attempts, limit=1, now=now) > 0


def drain_once(session_factory, gateway: LineGateway, *, batch_size: int = 50,
               max_attempts: int = 12, now: datetime | None = None,
               sender: Sender | None = None) -> int:
    """Deliver up to `batch_size` due rows; return how many were tried."""
    return deliver_batch(session_factory, gateway, max_attempts, limit=batch_size, now=now,
                         sender=sender)


def drain(session_factory, gateway: LineGateway, *, batch_size: int = 50,
          max_attempts: int = 12, now: datetime | None = None,
          sender: Sender | None = None) -> int:
    """Deliver everything due, batch after batch; return how many attempts were made."""
    total = 0
    while True:
        count = drain_once(session_factory, gateway, batch_size=batch_size,
                           max_attempts=max_attempts, now=now, sender=sender)
        total += count
        if count == 0:
            return total


def run_forever(session_factory, gateway: LineGateway, *, batch_size: int, max_attempts: int,
                poll_seconds: float, sender: Sender | None = None,
                sweep: Callable[[], object] | None = None, sweep_seconds: float = 5.0) -> None:
    """Poll the outbox until SIGTERM or SIGINT; run `sweep` every `sweep_seconds` too."""
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started")
    swept = 0.0
    while not stopping:
        if sweep is not None and time.monotonic() - swept >= sweep_seconds:
            swept = time.monotonic()
            try:
                sweep()
            except Exception:
                log.exception("worker sweep failed; retrying later")
        try:
            count = drain_once(session_factory, gateway, batch_size=batch_size,
                               max_attempts=max_attempts, sender=sender)
        except Exception:
            log.exception("worker loop failed; retrying")
            count = 0
        if count == 0:
            time.sleep(poll_seconds)
    if sender is not None:
        sender.close()
    log.info("worker stopped")
