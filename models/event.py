"""Events at the centers: reservations, the waitlist, and what each family asked for.

The database keeps the numbers honest under concurrency: `Event.taken` (places reserved or
held for a waitlist offer) can never go below zero or above the capacity (CHECK constraints,
changed only by conditional UPDATEs), a household holds at most one live reservation and one
live waitlist entry per event (partial unique indexes), and an offer is answered once (a
conditional UPDATE on its status).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.languages import place_name_language
from models.base import Base, utcnow

RESERVED = text("status = 'reserved'")
LIVE = text("status IN ('waiting', 'offered')")


class Event(Base):
    """One event on one date; a weekly series shares `series`."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint("taken <= capacity", name="taken_within_capacity"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("unit IN ('children', 'families')", name="unit_known"),
        Index("ix_events_center_starts", "center_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The organising center: staff scope, and where a check-in counts as attendance.
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"))
    # Set when the event is held elsewhere (a park, a hall); check-ins then do not count.
    place_name: Mapped[str | None] = mapped_column(String(200))
    place_address: Mapped[str | None] = mapped_column(String(300))
    title_ja: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    description_ja: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_en: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    unit: Mapped[str] = mapped_column(String(16), default="children")
    min_age_months: Mapped[int | None]
    max_age_months: Mapped[int | None]
    # District codes that may book; empty: every district.
    districts: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]  # None: bookings close when the event starts
    cancel_deadline: Mapped[datetime | None]  # None: cancel until the event starts
    guardians_without_child: Mapped[bool] = mapped_column(default=False, server_default=false())
    series: Mapped[str | None] = mapped_column(String(32), index=True)
    taken: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def title(self, language: str | None) -> str:
        """Return the title in `language`: staff write it in Japanese and English, so readers
        of kanji (Japanese, easy Japanese, Chinese) read the Japanese, everyone else the English
        when it is given (as places' names, cityhall.languages.place_name_language)."""
        return self.title_en if _reads_english(language) and self.title_en else self.title_ja

    def description(self, language: str | None) -> str:
        return (self.description_en if _reads_english(language) and self.description_en
                else self.description_ja) or ""

    @property
    def booking_closes(self) -> datetime:
        return min(self.closes_at or self.starts_at, self.starts_at)

    @property
    def cancellation_deadline(self) -> datetime:
        return min(self.cancel_deadline or self.starts_at, self.starts_at)


class Reservation(Base):
    """A household's places at an event (or a family added by staff without LINE)."""

    __tablename__ = "event_reservations"
    __table_args__ = (
        Index("uq_event_reservations_active", "event_id", "household_id", unique=True,
              sqlite_where=RESERVED, postgresql_where=RESERVED),
        CheckConstraint("places >= 1", name="places_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    guest_name: Mapped[str | None] = mapped_column(String(100))  # added by staff, no LINE
    places: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="reserved")  # reserved|cancelled|event_cancelled
    source: Mapped[str] = mapped_column(String(16), default="chat")  # chat|offer|staff
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    attended_at: Mapped[datetime | None]
    attended_visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visits.id", ondelete="SET NULL"), index=True)
    reminded_at: Mapped[datetime | None]
    children: Mapped[list[ReservationChild]] = relationship(
        back_populates="reservation", order_by="ReservationChild.id", cascade="all, delete-orphan")


class ReservationChild(Base):
    """A child on a reservation, with the age in months on the event's date."""

    __tablename__ = "event_reservation_children"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("event_reservations.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"))
    age_months: Mapped[int]
    reservation: Mapped[Reservation] = relationship(back_populates="children")


class WaitlistEntry(Base):
    """One household waiting for places (however many children), in the order it joined."""

    __tablename__ = "event_waitlist"
    __table_args__ = (
        Index("uq_event_waitlist_live", "event_id", "household_id", unique=True,
              sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_event_waitlist_event_status", "event_id", "status"),
        CheckConstraint("places >= 1", name="places_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    places: Mapped[int]
    child_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    ages: Mapped[list[int]] = mapped_column(JSON, default=list)  # months on the event's date
    # waiting | offered | accepted | declined | expired | left | unmet | event_cancelled
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_reservations.id", ondelete="SET NULL"))


class EventPreference(Base):
    """A household's choice about suggested events, and when one was last suggested."""

    __tablename__ = "event_preferences"

    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                              primary_key=True)
    suggestions: Mapped[bool] = mapped_column(default=True)
    last_suggested_at: Mapped[datetime | None]


def _reads_english(language: str | None) -> bool:
    return place_name_language(language) == "en"
