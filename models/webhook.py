"""Webhook events already processed, keyed by LINE's webhookEventId, and those that failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ProcessedEvent(Base):
    """One row per webhook event received; the primary key makes "once" true under concurrency.

    The webhook records every event of a delivery as `pending` with its raw payload before it
    answers 200; processing clears both in the event's own transaction. A row still pending
    after a crash is processed by the recovery sweep (bot.webhook.recover).
    """

    __tablename__ = "processed_events"
    __table_args__ = (Index("ix_processed_events_pending", "pending", "processed_at"),)

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32))
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    # When received while pending; when processed afterwards.
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The raw event while pending (LINE sent it once; it is the only copy), then NULL.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FailedEvent(Base):
    """A webhook event whose handler failed for good: kept with its error until replayed.

    The row holds the raw event (LINE sent it once; it is the only copy). A successful replay
    deletes it, so what the resident wrote is not kept longer than needed.
    """

    __tablename__ = "failed_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique, so a redelivery that fails again updates its row; NULL for an event without id.
    webhook_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    line_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1)
    first_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
