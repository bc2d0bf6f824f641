"""Route a webhook event to its handler by event type (and message type)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.context import EventContext

log = logging.getLogger(__name__)

Handler = Callable[[EventContext], None]

_event_handlers: dict[str, Handler] = {}


def on(event_type: str) -> Callable[[Handler], Handler]:
    """Register the handler for one event type ("follow", "message", ...)."""
    def register(fn: Handler) -> Handler:
        if event_type in _event_handlers:
            raise RuntimeError(f"event type {event_type!r} is handled twice: by "
                               f"{_event_handlers[event_type].__module__} and by {fn.__module__}")
        _event_handlers[event_type] = fn
        return fn
    return register


def dispatch(ctx: EventContext) -> None:
    """Call the handler registered for the event's type; acknowledge unknown types."""
    event_type = ctx.raw.get("type", "")
    handler = _event_handlers.get(event_type)
    if handler is None or ctx.event is None:
        log.info("unhandled event type %r (id %s)", event_type, ctx.raw.get("webhookEventId"))
        return
    handler(ctx)
