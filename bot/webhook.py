"""POST /callback: verify the signature, parse, dedup and dispatch each event.

Each event runs in its own transaction together with its dedup row, so a failing handler
rolls back only its own event, and a redelivered event (same webhookEventId) hits the
primary key and has no second effect, even when both deliveries race on PostgreSQL.
Replies are sent after the commit: a rolled-back event never answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from linebot.v3.webhooks import Event

import bot.handlers  # noqa: F401  (registers the handlers)
from bot.context import EventContext
from bot.dispatch import dispatch
from bot.gateway import LineError, gateway
from bot.outbox import MESSAGES_LIMIT, enqueue
from cityhall.db import db, dialect_insert
from models import ProcessedEvent, utcnow

log = logging.getLogger(__name__)

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
    body = request.get_data(cache=False)
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
    for raw in events:
        process_event(raw)
    return jsonify(status="ok")


def process_event(raw: dict[str, Any]) -> None:
    """Handle one event once, in its own transaction, then send its reply."""
    event_id = raw.get("webhookEventId")
    ctx = None
    try:
        with db.transaction() as session:
            if not _claim(session, raw):
                log.info("event %s already processed; redelivery ignored", event_id)
                return
            ctx = EventContext(session=session, event=to_model(raw), raw=raw, now=utcnow())
            dispatch(ctx)
    except Exception:
        log.exception("handler failed for event %s (%s); rolled back", event_id, raw.get("type"))
        return
    if ctx.replies and ctx.reply_token:
        send_reply(ctx)


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


def send_reply(ctx: EventContext) -> None:
    """Reply with the event's token; what the reply cannot carry goes by push, in order.

    A token answers once with at most five messages. If LINE refuses the reply (expired
    token, 5xx), every message is pushed through the outbox instead, so nothing is lost.
    """
    first, rest = ctx.replies[:MESSAGES_LIMIT], ctx.replies[MESSAGES_LIMIT:]
    try:
        gateway().reply(ctx.reply_token, first)
    except LineError as err:
        log.warning("reply for event %s failed (%s); pushing instead",
                    ctx.raw.get("webhookEventId"), err)
        rest = ctx.replies
    if rest and ctx.user_id:
        with db.transaction() as session:
            for start in range(0, len(rest), MESSAGES_LIMIT):
                enqueue(session, [ctx.user_id], rest[start:start + MESSAGES_LIMIT],
                        source="reply-overflow")
