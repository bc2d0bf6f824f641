"""Districts of the city, child-support centers and city departments."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.languages import place_name_language
from models.base import Base

# Weekday keys of Center.opening_hours, Monday first (datetime.weekday() order).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A LINE quick-reply or button label holds 20 characters; a multiple choice's "✓ " takes two.
SHORT_NAME_MAX = 18


class CheckinMode(enum.StrEnum):
    POSTER = "poster"
    KIOSK = "kiosk"


class District(Base):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    def name(self, language: str | None) -> str:
        """Return the district's name in `language` (Japanese for readers of kanji, else English)."""
        return self.name_en if place_name_language(language) == "en" else self.name_ja


class Center(Base):
    __tablename__ = "centers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # Shown on LINE's buttons and quick replies instead of an English name too long for them.
    short_name_en: Mapped[str | None] = mapped_column(String(SHORT_NAME_MAX))
    address: Mapped[str | None] = mapped_column(String(300))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    district: Mapped[District | None] = relationship()
    # {"mon": ["09:00", "16:00"], ..., "sun": None}: a weekday without hours is closed.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict,
                                                          server_default=text("'{}'"))
    # ISO dates ("2026-12-29") on which the center is closed besides its weekly closed days.
    closed_days: Mapped[list[str]] = mapped_column(JSON, default=list,
                                                       server_default=text("'[]'"))
    checkin_mode: Mapped[CheckinMode] = mapped_column(
        Enum(CheckinMode, native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]),
        default=CheckinMode.POSTER, server_default=CheckinMode.POSTER.value)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    def name(self, language: str | None) -> str:
        """Return the center's name in `language` (Japanese for readers of kanji, else English)."""
        return self.name_en if place_name_language(language) == "en" else self.name_ja

    def label(self, language: str | None) -> str:
        """Return the name a button shows: the short English name when the English name does
        not fit a LINE label (SHORT_NAME_MAX) and a short one is given; else the name."""
        name = self.name(language)
        if place_name_language(language) == "en" and len(name) > SHORT_NAME_MAX \
                and self.short_name_en:
            return self.short_name_en
        return name

    def hours_on(self, weekday: str) -> tuple[str, str] | None:
        """Return (opens, closes) as "HH:MM" on a weekday key, or None when closed."""
        hours = (self.opening_hours or {}).get(weekday)
        return (hours[0], hours[1]) if hours else None


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    def name(self, language: str | None) -> str:
        """Return the department's name in `language` (Japanese for readers of kanji, else English)."""
        return self.name_en if place_name_language(language) == "en" else self.name_ja
