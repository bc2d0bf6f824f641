"""The notices feature's settings: read once from the app's configuration, then passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from cityhall.city import City

DEFAULTS = {
    "NOTICE_APPROVAL_THRESHOLD": "1000",
    "NOTICE_QUIET_HOURS": "21:00-08:00",
    "NOTICE_PUBLIC_URL": "",
    # department code -> topics its staff may send, "code=topic,topic;code=topic"
    "NOTICE_DEPARTMENT_TOPICS": "childcare=events,reminders,news,closures;citizens=news;roads=news",
}


def init_app(config: dict[str, Any]) -> None:
    """Fill the settings from the environment unless the configuration already has them."""
    for key, default in DEFAULTS.items():
        config.setdefault(key, os.environ.get(key, default))


def parse_hhmm(text: str) -> time:
    hours, minutes = (int(p) for p in text.strip().split(":"))
    return time(hours, minutes)


@dataclass(frozen=True)
class NoticeSettings:
    approval_threshold: int = 1000
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)
    public_url: str = ""  # the app's URL as LINE sees it, for signed image URLs
    image_key: bytes = b""
    department_topics: Mapping[str, tuple[str, ...]] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NoticeSettings:
        """Build the settings from a Flask config (defaults for what it lacks)."""
        get = lambda key: str(config.get(key, os.environ.get(key, DEFAULTS[key])))  # noqa: E731
        quiet = get("NOTICE_QUIET_HOURS").strip()
        start = end = None
        if quiet and quiet.lower() != "none":
            first, second = quiet.split("-")
            start, end = parse_hhmm(first), parse_hhmm(second)
        topics: dict[str, tuple[str, ...]] = {}
        for part in get("NOTICE_DEPARTMENT_TOPICS").split(";"):
            if "=" in part:
                code, names = part.split("=", 1)
                topics[code.strip()] = tuple(n.strip() for n in names.split(",") if n.strip())
        return cls(approval_threshold=int(get("NOTICE_APPROVAL_THRESHOLD")), quiet_start=start,
                   quiet_end=end, public_url=get("NOTICE_PUBLIC_URL").rstrip("/"),
                   image_key=str(config.get("SECRET_KEY", "")).encode(),
                   department_topics=topics)

    def in_quiet_hours(self, moment: datetime, city: City) -> bool:
        """Tell whether `moment` falls in the quiet hours, in the city's time zone."""
        if self.quiet_start is None or self.quiet_end is None:
            return False
        now = city.local(moment).time()
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= now < self.quiet_end
        return now >= self.quiet_start or now < self.quiet_end

    def quiet_hours_end(self, moment: datetime, city: City) -> datetime:
        """Return when the quiet hours around `moment` end (`moment` itself outside them)."""
        if not self.in_quiet_hours(moment, city):
            return moment
        local = city.local(moment)
        end = datetime.combine(local.date(), self.quiet_end, city.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.quiet_end, city.zone)
        return end
