"""The city's settings that services need: read once from the configuration, then passed in.

Services never read `current_app`: a view, a chat handler, a job or a test builds (or takes)
a `City` and hands it over, so the same function runs in the web, the worker, the clock and a
plain test without an application context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class City:
    """Immutable city settings: its time zone and how long an unfinished form is kept."""

    timezone: str = "Asia/Tokyo"
    form_expiry: timedelta = timedelta(minutes=1440)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Resolve the zone once: a wrong CITYHALL_TIMEZONE fails at start-up, not mid-request.
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> City:
        """Build the settings from a Flask config (or any mapping of the same keys)."""
        return cls(timezone=str(config.get("CITYHALL_TIMEZONE", "Asia/Tokyo")),
                   form_expiry=timedelta(minutes=int(config.get("FORM_EXPIRY_MINUTES", 1440))))

    def local(self, moment: datetime) -> datetime:
        """Return an aware moment in the city's time zone."""
        return moment.astimezone(self.zone)

    def today(self, now: datetime) -> date:
        """Return the city's local date at `now`."""
        return self.local(now).date()

    def at(self, day: date, hhmm: str) -> datetime:
        """Return the local time "HH:MM" (up to "24:00") on a day, as an aware datetime."""
        hours, minutes = (int(part) for part in hhmm.split(":"))
        return datetime.combine(day, time(0), self.zone) + timedelta(hours=hours, minutes=minutes)


def current_city() -> City:
    """Return the running app's City: for entry points (views, handlers, jobs), not services."""
    from flask import current_app

    # Built per call (ZoneInfo caches its zones), so a test may change the config in place.
    return City.from_config(current_app.config)
