"""Visits to child-support centers: who came with which children, when, and for how long.

A visit keeps what statistics need as it was at the time (each child's age in months, the
household's district), so dashboards never join to data that may change or be deleted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow

# The database itself makes "one open visit per child" true, even for two racing scans.
OPEN = text("checked_out_at IS NULL")


class Visit(Base):
    """One family's stay at a center, from check-in to check-out."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_center_open", "center_id", "checked_out_at"),
                      Index("ix_visits_center_local_day", "center_id", "local_day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"), index=True)
    # Cleared when the registration is deleted; the visit stays for statistics.
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    # A family checked in by staff without LINE: the name shown on the roster.
    walk_in_name: Mapped[str | None] = mapped_column(String(100))
    district_code: Mapped[str | None] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(16))  # poster | kiosk | staff
    first_visit: Mapped[bool] = mapped_column(default=False)
    checked_in_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    checked_out_at: Mapped[datetime | None]
    checkout_method: Mapped[str | None] = mapped_column(String(16))  # scan|staff|auto|moved|erased
    # Written by database triggers (migration 0015), never by the application, for the
    # aggregation: the city's local day and hour of the check-in (from `utc_offsets`), the
    # stay in seconds of a visit ended by a check-out (not by erasure), and the children on
    # the visit, in all and per age band (dashboards.aggregate.AGE_BANDS).
    local_day: Mapped[date | None]
    local_hour: Mapped[int | None]
    stay_seconds: Mapped[int | None] = mapped_column(BigInteger)
    children_count: Mapped[int] = mapped_column(default=0, server_default="0")
    children_0: Mapped[int] = mapped_column(default=0, server_default="0")
    children_1: Mapped[int] = mapped_column(default=0, server_default="0")
    children_2: Mapped[int] = mapped_column(default=0, server_default="0")
    children_3_5: Mapped[int] = mapped_column(default=0, server_default="0")
    children_6_up: Mapped[int] = mapped_column(default=0, server_default="0")
    children: Mapped[list[VisitChild]] = relationship(back_populates="visit", order_by="VisitChild.id",
                                                      cascade="all, delete-orphan")


class VisitChild(Base):
    """A child on a visit, with the age in months on that day."""

    __tablename__ = "visit_children"
    __table_args__ = (Index("uq_visit_children_open_child", "child_id", unique=True,
                            postgresql_where=OPEN, sqlite_where=OPEN),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"))
    age_months: Mapped[int]
    # A copy of the visit's check-out time: the unique index above needs it on this table.
    checked_out_at: Mapped[datetime | None]
    visit: Mapped[Visit] = relationship(back_populates="children")


class PendingCheckin(Base):
    """A scan waiting for the resident: a choice of children, or registration to finish."""

    __tablename__ = "checkin_pending"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CenterPoster(Base):
    """The version printed in a center's poster QR code; reissuing revokes older posters."""

    __tablename__ = "checkin_posters"

    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id", ondelete="CASCADE"),
                                           primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
