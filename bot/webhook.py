"""POST /callback: verify the signature, process the events, answer 200.

By default (WEBHOOK_PROCESS_INLINE=1) each event is processed on the request thread before
the 200, in one transaction that inserts its dedup row (INSERT ... ON CONFLICT DO NOTHING
into `processed_events`: a redelivery, or a racing duplicate on PostgreSQL, inserts nothing
and has no second effect) and runs its handler (process_event): one commit per event, and
nothing acknowledged is left waiting. The alternative (WEBHOOK_PROCESS_INLINE=0) records
the events of a delivery in one transaction (one multi-row INSERT, marked pending and
carrying the raw event), answers 200, and a bounded pool (bot.eventpool) processes them,
those of one sender in order; it measured slower end to end (docs/performance.md).

Each event is processed in its own transaction (on the pool it first takes its pending row,
an UPDATE ... WHERE pending: exactly one processor wins), so a failing handler rolls back
only its own event. A transient database error (a unique race, deadlock, serialization
failure, lost connection) runs the event again after a short pause; an event that still
fails is kept in the dead letter (`failed_events`) for `cityhall webhook replay`, in the
transaction that drops its pending row. Replies are sent after the commit: a rolled-back
event never answers. A row still pending after a crash (the process died between the 200
and the processing) is processed by `recover`, which the worker runs every poll and
`cityhall webhook recover` runs by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import threading
import time
from typing import Any

from datetime import datetime, timedelta

from flask import Blueprint, Flask, current_app, jsonify, request
from sqlalchemy import delete, select, update
from werkzeug.exceptions import RequestEntityTooLarge
from linebot.v3.webhooks import Event

import bot.handlers  # noqa: F401  (registers the handlers)
from bot import deadletter
from bot.context import EventContext
from bot.dispatch import dispatch
from bot.eventpool import EventPool
from bot.gateway import LineError, gateway
from bot.outbox import MESSAGES_LIMIT, enqueue
from cityhall.db import db, dialect_insert
from cityhall.dberrors import describe, transient_reason
from models import ProcessedEvent, utcnow

log = logging.getLogger(__name__)

# Pauses before the second, third and fourth attempt of an event that hit a transient
# database error: short, because LINE waits for our answer (2 s for the whole delivery).
RETRY_DELAYS = (0.05, 0.15, 0.4)

# What process_event reports.
DONE, DUPLICATE, FAILED, LOST = "done", "duplicate", "failed", "lost"

bp = Blueprint("bot", __name__)


def signature_is_valid(secret: str, body: bytes, signature: str) -> bool:
    """Check base64(HMAC-SHA256(secret, raw body)) in constant time; no secret, no match."""
    if not secret:
        # Anyone can sign with the empty key: without a channel secret nothing is genuine.
        log.error("webhook refused: LINE_CHANNEL_SECRET is empty")
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.encode("ascii", "replace"))


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """Return the raw events of a webhook body, or raise ValueError saying what is wrong."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:
        # The JSON decoder recurses per nesting level; LINE's events are a few levels deep.
        raise ValueError("body is nested too deeply") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ValueError("body has no 'events' list")
    if not all(isinstance(e, dict) for e in payload["events"]):
        raise ValueError("an event is not a JSON object")
    return payload["events"]


def to_model(raw: dict[str, Any]) -> Any:
    """Build the SDK's event model, or None for a type or shape the SDK does not know."""
    try:
        return Event.from_dict(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("event %s (%s) not understood by the SDK: %s",
                 raw.get("webhookEventId"), raw.get("type"), str(exc)[:300])
        return None


@bp.post("/callback")
def callback():
    """Receive a webhook delivery from LINE."""
    body = _read_body(current_app.config["WEBHOOK_MAX_BODY_BYTES"])
    if body is None:
        log.warning("webhook refused: body over %d bytes from %s",
                    current_app.config["WEBHOOK_MAX_BODY_BYTES"], request.remote_addr)
        return jsonify(message="body too large"), 413
    signature = request.headers.get("X-Line-Signature", "")
    if not signature or not signature_is_valid(current_app.config["LINE_CHANNEL_SECRET"],
                                               body, signature):
        log.warning("webhook refused: bad or missing signature from %s", request.remote_addr)
        return jsonify(message="invalid signature"), 400
    try:
        events = parse_events(body)
    except ValueError as exc:
        log.warning("webhook refused: %s", exc)
        return jsonify(message=str(exc)), 400
    if current_app.config.get("WEBHOOK_PROCESS_INLINE"):
        return _process_inline(events)
    try:
        fresh = record(events)
    except _Failed as failure:
        # Nothing recorded: a non-2xx answer makes LINE redeliver (when redelivery is on).
        log.critical("events of a delivery could not be recorded: %s", failure,
                     exc_info=failure.error)
        return jsonify(message="events could not be stored"), 500
    pool = event_pool(current_app._get_current_object())
    for raw in fresh:
        pool.submit(_sender(raw), raw)
    return jsonify(status="ok")


def _process_inline(events: list[dict[str, Any]]):
    """Process each event in one transaction (dedup row, handler, commit), then the 200.

    Nothing is recorded ahead: the 200 only goes out once every event is done (or kept in
    the dead letter), so there is no window in which an acknowledged event waits. An event
    neither handled nor kept rolled its dedup row back with it.
    """
    outcomes = [process_event(raw) for raw in events]
    if LOST in outcomes:
        # Neither handled nor kept: a non-2xx answer makes LINE redeliver (when redelivery
        # is on); the events that did go through are deduplicated then.
        return jsonify(message="an event could not be stored"), 500
    return jsonify(status="ok")


def _sender(raw: dict[str, Any]) -> str | None:
    source = raw.get("source")
    return source.get("userId") if isinstance(source, dict) else None


# Recording


def record(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record a delivery's events as pending in one transaction; return those new here.

    Events already recorded (redeliveries, or a duplicate within the delivery) are left
    out. An event without webhookEventId cannot be deduplicated or recorded: it is returned
    and processed once as it is. Raises _Failed when the transaction cannot commit.
    """
    by_id: dict[str, dict[str, Any]] = {}
    for raw in events:
        event_id = raw.get("webhookEventId")
        if isinstance(event_id, str) and event_id and event_id not in by_id:
            by_id[event_id] = raw
    if not by_id:
        new_ids: set[str] = set()
    else:
        new_ids, _attempts = _with_retries(lambda: _insert_pending(by_id), "recording events")
    fresh, seen = [], set()
    for raw in events:
        event_id = raw.get("webhookEventId")
        if not event_id or not isinstance(event_id, str):
            log.warning("event without webhookEventId (%s); processed without dedup",
                        raw.get("type"))
            fresh.append(raw)
        elif event_id in new_ids and event_id not in seen:
            seen.add(event_id)
            fresh.append(raw)
        else:
            log.info("event %s already received; redelivery ignored", event_id)
    return fresh


def _insert_pending(by_id: dict[str, dict[str, Any]]) -> set[str]:
    now = utcnow()
    with db.transaction() as session:
        statement = dialect_insert(session)(ProcessedEvent).values([
            {"webhook_event_id": event_id[:64], "event_type": str(raw.get("type"))[:32],
             "line_user_id": _user_id(raw), "processed_at": now, "pending": True,
             "payload": raw}
            for event_id, raw in by_id.items()
        ]).on_conflict_do_nothing(index_elements=["webhook_event_id"]).returning(
            ProcessedEvent.webhook_event_id)
        return set(session.execute(statement).scalars())


def _user_id(raw: dict[str, Any]) -> str | None:
    user_id = _sender(raw)
    return user_id[:64] if isinstance(user_id, str) else None


# The pool


POOL_KEY = "cityhall.webhook_pool"
_pool_lock = threading.Lock()


def event_pool(app: Flask) -> EventPool:
    """Return the app's event pool in this process, starting it on first use."""
    pool = app.extensions.get(POOL_KEY)
    if pool is None:
        with _pool_lock:
            pool = app.extensions.get(POOL_KEY)
            if pool is None:
                def work(raws: list[dict[str, Any]]) -> None:
                    with app.app_context():
                        process_recorded_batch(raws)

                pool = EventPool(work, lanes=app.config.get("WEBHOOK_POOL_THREADS", 4),
                                 depth=app.config.get("WEBHOOK_POOL_DEPTH", 200),
                                 batch=app.config.get("WEBHOOK_POOL_BATCH", 8))
                app.extensions[POOL_KEY] = pool
    return pool


def wait_idle(app: Flask, timeout: float | None = None) -> bool:
    """Wait until the app's pool has processed everything handed to it (tests, benches)."""
    pool = app.extensions.get(POOL_KEY)
    return True if pool is None else pool.wait_idle(timeout)


def shutdown_pool(app: Flask) -> None:
    """Finish the queued events and stop the pool's threads."""
    pool = app.extensions.pop(POOL_KEY, None)
    if pool is not None:
        pool.shutdown()


# Recovery


def recover(now: datetime | None = None, older_than: timedelta = timedelta(seconds=60),
            limit: int = 500) -> dict[str, int]:
    """Process events recorded but still pending `older_than` after they came; return outcomes.

    The events a process took in before it died. Several sweepers (or a sweeper and a
    live pool) may reach the same row: the UPDATE ... WHERE pending lets one process it.
    """
    now = now or utcnow()
    with db.session() as session:
        rows = session.execute(
            select(ProcessedEvent.webhook_event_id, ProcessedEvent.payload)
            .where(ProcessedEvent.pending, ProcessedEvent.processed_at <= now - older_than)
            .order_by(ProcessedEvent.processed_at, ProcessedEvent.webhook_event_id)
            .limit(limit)).all()
    outcomes: dict[str, int] = {}
    for event_id, payload in rows:
        if not isinstance(payload, dict):
            log.error("pending event %s has no payload; dropped", event_id)
            with db.transaction() as session:
                session.execute(delete(ProcessedEvent).where(
                    ProcessedEvent.webhook_event_id == event_id, ProcessedEvent.pending))
            continue
        log.warning("event %s was recorded but not processed; processing it now", event_id)
        outcome = process_recorded(payload)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _read_body(limit: int) -> bytes | None:
    """Return the raw body, or None when it is longer than `limit` bytes, reading no further.

    A Content-Length over the limit is refused before anything is read. A chunked body has
    no length: reading stops one byte past the limit (Werkzeug's cap), which tells it apart
    from a body of exactly the limit.
    """
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return None
    return None if len(body) > limit else body


def process_recorded(raw: dict[str, Any]) -> str:
    """Process an event the webhook recorded as pending (or one without id), then reply."""
    return process_event(raw, recorded=True)


_AGAIN = object()  # an event that failed inside a batch: processed again on its own


def process_recorded_batch(raws: list[dict[str, Any]]) -> list[str]:
    """Process recorded events in order in one transaction, a savepoint each; then reply.

    What queued up on a pool lane under load shares one commit. An event whose handler
    fails is rolled back to its savepoint and, after the commit, processed again on its
    own by process_recorded (retries, dead letter), as if alone. If the batch as a whole
    cannot commit, nothing of it happened and every event is processed on its own.
    """
    if len(raws) == 1:
        return [process_recorded(raws[0])]
    try:
        results = _handle_batch(raws)
    except Exception as exc:  # the commit itself failed: nothing of the batch happened
        log.warning("a batch of %d events could not commit (%s); processing one by one",
                    len(raws), describe(exc))
        return [process_recorded(raw) for raw in raws]
    outcomes = []
    for raw, ctx in zip(raws, results):
        if ctx is _AGAIN:
            outcomes.append(process_recorded(raw))
        elif ctx is None:
            log.info("event %s already processed; not processed again", raw.get("webhookEventId"))
            outcomes.append(DUPLICATE)
        else:
            if ctx.replies and ctx.reply_token:
                send_reply(ctx)
            run_after_commit(ctx)
            outcomes.append(DONE)
    return outcomes


def _handle_batch(raws: list[dict[str, Any]]) -> list[Any]:
    results: list[Any] = []
    with db.transaction() as session:
        for raw in raws:
            try:
                with session.begin_nested():
                    if not _take(session, raw):
                        results.append(None)
                        continue
                    ctx = EventContext(session=session, event=to_model(raw), raw=raw,
                                       now=utcnow())
                    dispatch(ctx)
                results.append(ctx)
            except Exception as exc:  # rolled back to its savepoint; alone again later
                log.info("event %s failed in a batch (%s); it runs again on its own",
                         raw.get("webhookEventId"), describe(exc))
                results.append(_AGAIN)
    return results


def process_event(raw: dict[str, Any], replay_of: int | None = None,
                  recorded: bool = False) -> str:
    """Handle one event once, in its own transaction, then send its reply.

    A transient database error runs the event again (RETRY_DELAYS); an event that still
    fails is kept in the dead letter. `recorded`: the event's pending row exists and is
    taken; otherwise the dedup row is inserted. `replay_of` is the dead-letter row being
    replayed: its replies go by push (the reply token has expired) and the row goes on
    success.
    """
    event_id = raw.get("webhookEventId")
    try:
        ctx, attempts = _with_retries(lambda: _handle(raw, replay_of, recorded),
                                      f"event {event_id}")
    except _Failed as failure:
        log.error("handler failed for event %s (%s); rolled back after %d attempt(s)",
                  event_id, raw.get("type"), failure.attempts, exc_info=failure.error)
        return _keep_failed(raw, failure, replay_of)
    if ctx is None:
        log.info("event %s already processed; not processed again", event_id)
        return DUPLICATE
    if attempts > 1:
        log.info("event %s went through at attempt %d", event_id, attempts)
    if ctx.replies and ctx.reply_token and replay_of is None:
        send_reply(ctx)
    run_after_commit(ctx)
    return DONE


def run_after_commit(ctx: EventContext) -> None:
    """Make the event's LINE calls that waited for its commit; a failure only logs."""
    for call in ctx.after_commit:
        try:
            call()
        except Exception:  # a menu link is a nicety: the event itself went through
            log.exception("after-commit call of event %s failed", ctx.raw.get("webhookEventId"))


class _Failed(Exception):
    """A unit of work that failed for good, with the last error and the attempts made."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        super().__init__(describe(error))
        self.error = error
        self.attempts = attempts


def _with_retries(work, what: str):
    """Run `work` (one transaction), again after a transient database error.

    Returns (result, attempts); raises _Failed when an error is lasting or retries run out.
    """
    for attempt in range(1, len(RETRY_DELAYS) + 2):
        try:
            return work(), attempt
        except Exception as exc:  # a handler may fail in any way; its event must not be lost
            reason = transient_reason(exc)
            if reason is None or attempt > len(RETRY_DELAYS):
                raise _Failed(exc, attempt) from exc
            log.warning("%s: %s (attempt %d); running it again", what, reason, attempt)
            # Jitter keeps two racing events from colliding again in lock-step.
            time.sleep(RETRY_DELAYS[attempt - 1] * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


def _handle(raw: dict[str, Any], replay_of: int | None,
            recorded: bool = False) -> EventContext | None:
    """Claim and dispatch the event in one transaction; None when it was processed already."""
    with db.transaction() as session:
        if not (_take(session, raw) if recorded else _claim(session, raw)):
            if replay_of is not None:
                deadletter.forget(session, replay_of)
            return None
        ctx = EventContext(session=session, event=to_model(raw), raw=raw, now=utcnow())
        dispatch(ctx)
        if replay_of is not None:
            _push_replies(session, ctx)
            deadletter.forget(session, replay_of)
        return ctx


def _keep_failed(raw: dict[str, Any], failure: _Failed, replay_of: int | None) -> str:
    """Store the failed event with its error; LOST when even that fails."""
    def store() -> None:
        with db.transaction() as session:
            deadletter.keep(session, raw, str(failure), failure.attempts, utcnow(), replay_of)
            # Its pending row goes with it: a redelivery after a fix is processed, as a
            # replay is (the dedup row was rolled back with the failed transaction before).
            if raw.get("webhookEventId"):
                session.execute(delete(ProcessedEvent).where(
                    ProcessedEvent.webhook_event_id == raw["webhookEventId"],
                    ProcessedEvent.pending))

    try:
        _with_retries(store, f"dead letter of event {raw.get('webhookEventId')}")
    except _Failed as again:
        log.critical("event %s could not be kept in the dead letter: %s",
                     raw.get("webhookEventId"), again, exc_info=again.error)
        return LOST
    return FAILED


def replay(failed_id: int) -> str:
    """Process a dead-letter event again; its replies go by push. Returns the outcome."""
    with db.session() as session:
        row = deadletter.get(session, failed_id)
        if row is None:
            raise LookupError(f"no failed event {failed_id}")
        raw = dict(row.payload)
    return process_event(raw, replay_of=failed_id)


def _claim(session, raw: dict[str, Any]) -> bool:
    """Insert the event's dedup row; False when it was processed (or is being processed) already.

    INSERT ... ON CONFLICT DO NOTHING: on PostgreSQL a racing duplicate waits for the first
    delivery's transaction and then inserts nothing (or takes over if the first rolled back).
    """
    event_id = raw.get("webhookEventId")
    if not event_id:
        log.warning("event without webhookEventId (%s); processed without dedup", raw.get("type"))
        return True
    source = raw.get("source") or {}
    statement = dialect_insert(session)(ProcessedEvent).values(
        webhook_event_id=event_id, event_type=str(raw.get("type"))[:32],
        line_user_id=source.get("userId"), processed_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["webhook_event_id"]).returning(
        ProcessedEvent.webhook_event_id)
    return session.execute(statement).scalar() is not None


def _take(session, raw: dict[str, Any]) -> bool:
    """Take the event's pending row; False when another processor took it already.

    UPDATE ... WHERE pending: on PostgreSQL a second processor waits for the first's
    transaction and then updates nothing (or takes over if the first rolled back).
    """
    event_id = raw.get("webhookEventId")
    if not event_id:
        return True
    taken = session.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.webhook_event_id == event_id, ProcessedEvent.pending)
        .values(pending=False, payload=None, processed_at=utcnow())
        .execution_options(synchronize_session=False))
    return taken.rowcount == 1


def _push_replies(session, ctx: EventContext) -> None:
    """Queue a replayed event's replies as pushes, in its transaction (the token is gone)."""
    if not ctx.replies:
        return
    if not ctx.user_id:
        log.warning("replayed event %s has replies but no user to push them to",
                    ctx.raw.get("webhookEventId"))
        return
    for start in range(0, len(ctx.replies), MESSAGES_LIMIT):
        enqueue(session, [ctx.user_id], ctx.replies[start:start + MESSAGES_LIMIT],
                source="replay")


def send_reply(ctx: EventContext) -> None:
    """Reply with the event's token; what the reply cannot carry goes by push, in order.

    A token answers once with at most five messages. If LINE refused the reply (an error
    status, or no connection before sending), every message is pushed through the outbox
    instead, so nothing is lost. If the reply may have reached LINE (a read timeout after
    sending) it is not pushed again: the reply has no retry key, so a push could repeat it.
    """
    first, rest = ctx.replies[:MESSAGES_LIMIT], ctx.replies[MESSAGES_LIMIT:]
    try:
        gateway().reply(ctx.reply_token, first)
    except LineError as err:
        if err.may_have_arrived:
            log.warning("reply for event %s got no answer (%s); LINE may have delivered it, "
                        "so it is not pushed again", ctx.raw.get("webhookEventId"), err)
        else:
            log.warning("reply for event %s failed (%s); pushing instead",
                        ctx.raw.get("webhookEventId"), err)
            rest = ctx.replies
    if rest and ctx.user_id:
        with db.transaction() as session:
            for start in range(0, len(rest), MESSAGES_LIMIT):
                enqueue(session, [ctx.user_id], rest[start:start + MESSAGES_LIMIT],
                        source="reply-overflow")
