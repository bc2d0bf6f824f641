"""The events feature's settings, read from the running app by its entry points (chat, staff
pages, clock jobs) and handed to the services."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from events.services import OFFER_VALID_FOR


def offer_valid() -> timedelta:
    """How long a waitlist offer stays open: EVENTS_OFFER_HOURS (default 12)."""
    hours = current_app.config.get("EVENTS_OFFER_HOURS")
    return OFFER_VALID_FOR if hours is None else timedelta(hours=float(hours))
