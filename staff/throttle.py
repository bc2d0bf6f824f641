"""Sign-in throttling: growing delays per address and per account, never a hard lock.

Every attempt (a password, then a second-factor code) is counted as a failure *before* it is
checked, in one short transaction of conditional UPDATEs, and forgiven when the sign-in
completes. So simultaneous attempts can never all slip past the limit (each one's UPDATE
sees the previous one's count under the row lock), and no worker ever sleeps: an attempt
that comes too early is answered at once with the time left to wait.

Three counters, each a row keyed by a keyed hash (nothing typed is stored):
- the client address, whatever username it tries: `STAFF_ADDRESS_FREE_FAILURES` free
  failures, then each further attempt waits 1 s, 2 s, 4 s ... up to `STAFF_THROTTLE_MAX_SECONDS`;
- the typed username, known or not, from every address: counts distributed guessing;
- the username from this address: the gate for the account. Its delay grows with the
  account's count (`STAFF_ACCOUNT_FREE_FAILURES` free), but it only holds an address that
  has itself failed on this account, so someone else's failures never keep the owner, from
  a fresh address, from signing in with the right password (see docs/staff-web.md).
Counters forget after `STAFF_THROTTLE_FORGET_HOURS` without a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.staff import SignInThrottle

# Rows start open: nothing to wait for.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEY_LABEL = b"cityhall staff sign-in keyed hash v1"


def hash_key() -> bytes:
    """Return the key for keyed hashes of usernames and addresses, derived from SECRET_KEY."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else secret.encode()
    return hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()


def keyed_hash(kind: str, value: str) -> str:
    """Return HMAC-SHA256 of `value` under the server's key: comparable, never reversible."""
    return hmac.new(hash_key(), f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keys:
    address: str
    account: str
    pair: str


def keys_for(username: str, address: str) -> Keys:
    """Return the three counter keys of an attempt on `username` from `address`."""
    return Keys(keyed_hash("address", address), keyed_hash("account", username),
                keyed_hash("pair", f"{username}\x00{address}"))


def delay_after(failures: int, free: int) -> int:
    """Return the seconds to wait after `failures`: none while free, then doubling, capped."""
    if failures < free:
        return 0
    cfg = current_app.config
    cap, first = cfg["STAFF_THROTTLE_MAX_SECONDS"], cfg["STAFF_THROTTLE_FIRST_SECONDS"]
    return cap if failures - free >= 40 else min(first * 2 ** (failures - free), cap)


def charge(dbs: Session, username: str, address: str, now: datetime) -> int:
    """Count this attempt as a failure unless it comes too early; return the seconds to wait.

    0 means the attempt may be checked now (and stays counted until `forgive`). Commits.
    """
    keys = keys_for(username, address)
    cfg = current_app.config
    try:
        by_address = _count(dbs, keys.address, now, gated=True)
        by_account = by_address and _count(dbs, keys.account, now, gated=False)
        by_pair = by_address and _count(dbs, keys.pair, now, gated=True)
        if by_address is None or by_pair is None:
            dbs.rollback()
            # The gate may open or its row be forgiven meanwhile: still refuse this one.
            return max(1, wait_seconds(dbs, keys, now))
        _hold(dbs, keys.address, now, delay_after(by_address, cfg["STAFF_ADDRESS_FREE_FAILURES"]))
        _hold(dbs, keys.pair, now, delay_after(by_account, cfg["STAFF_ACCOUNT_FREE_FAILURES"]))
        dbs.commit()
    except BaseException:
        dbs.rollback()
        raise
    return 0


def _count(dbs: Session, key: str, now: datetime, gated: bool) -> int | None:
    """Add one failure to `key` and return the count, or None when its gate is still shut."""
    _ensure_row(dbs, key, now)
    forget_before = now - timedelta(hours=current_app.config["STAFF_THROTTLE_FORGET_HOURS"])
    t = SignInThrottle
    query = (update(t).where(t.key == key)
             .values(failures=case((t.last_failure_at < forget_before, 1),
                                   else_=t.failures + 1), last_failure_at=now)
             .returning(t.failures))
    if gated:
        query = query.where(t.next_attempt_at <= now)
    return dbs.execute(query).scalar()


def _ensure_row(dbs: Session, key: str, now: datetime) -> None:
    dialect = postgresql if dbs.get_bind().dialect.name == "postgresql" else sqlite
    dbs.execute(dialect.insert(SignInThrottle)
                .values(key=key, failures=0, last_failure_at=now, next_attempt_at=EPOCH)
                .on_conflict_do_nothing(index_elements=["key"]))


def _hold(dbs: Session, key: str, now: datetime, seconds: int) -> None:
    # A zero delay leaves the gate as it was: setting it to `now` would shut it for a
    # simultaneous attempt whose own `now` is a few microseconds earlier.
    if seconds:
        dbs.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                    .values(next_attempt_at=now + timedelta(seconds=seconds)))


def wait_seconds(dbs: Session, keys: Keys, now: datetime) -> int:
    """Return how long an attempt with these keys must still wait (at least 1 when shut)."""
    gates = dbs.scalars(select(SignInThrottle.next_attempt_at).where(
        SignInThrottle.key.in_([keys.address, keys.pair])))
    latest = max(gates, default=EPOCH)
    return max(1, math.ceil((latest - now).total_seconds())) if latest > now else 0


def forgive(dbs: Session, username: str, address: str, attempts: int, now: datetime) -> None:
    """Clear the account's counters and take this sign-in's own attempts off the address."""
    keys = keys_for(username, address)
    t = SignInThrottle
    free = current_app.config["STAFF_ADDRESS_FREE_FAILURES"]
    # Rows are locked in the order `charge` locks them (address, account, pair): any other
    # order deadlocks with a simultaneous attempt on PostgreSQL.
    left = dbs.execute(update(t).where(t.key == keys.address)
                       .values(failures=case((t.failures > attempts, t.failures - attempts),
                                             else_=0))
                       .returning(t.failures)).scalar()
    if left is not None and left < free:
        dbs.execute(update(t).where(t.key == keys.address).values(next_attempt_at=EPOCH))
    dbs.execute(delete(t).where(t.key == keys.account))
    dbs.execute(delete(t).where(t.key == keys.pair))


def prune(dbs: Session, now: datetime) -> int:
    """Delete counters that have forgotten their failures; return how many."""
    forget_before = now - timedelta(hours=current_app.config["STAFF_THROTTLE_FORGET_HOURS"])
    return dbs.execute(delete(SignInThrottle).where(
        SignInThrottle.last_failure_at < forget_before,
        SignInThrottle.next_attempt_at < now)).rowcount
