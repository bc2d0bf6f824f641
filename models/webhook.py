"""Webhook events already processed, keyed by LINE's webhookEventId."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ProcessedEvent(Base):
    """One row per webhook event handled; the primary key makes "once" true under concurrency."""

    __tablename__ = "processed_events"

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32))
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
