"""Rollups of visits for the dashboards, the change log that feeds them, and their state.

Dashboards read these tables, never raw visits. `visit_changes` is written by database
triggers on `visits` and `visit_children` (see migration 0005_dashboards), so no write path
can forget to tell the aggregation; each row names a (center, check-in time) whose local day
must be recomputed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class VisitChange(Base):
    """A visit was inserted, changed or deleted: its center's local day is stale."""

    __tablename__ = "visit_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    center_id: Mapped[int]
    checked_in_at: Mapped[datetime]


class UtcOffset(Base):
    """The city's UTC offset until a moment: what the visits' local-time trigger reads.

    One row per period between two offset changes (one row in all for a zone without
    daylight saving time); the last period ends at 2**62. Filled for CITYHALL_TIMEZONE by
    migration 0015 and refilled by the aggregation when that setting changes.
    """

    __tablename__ = "utc_offsets"

    until_epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    offset_seconds: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))


class RollupState(Base):
    """How far the aggregation got: the last change consumed and when it last ran."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_change_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_run_at: Mapped[datetime | None]
    last_full_at: Mapped[datetime | None]


class HourlyUsage(Base):
    """Visits per center, local day and hour: counts, children, new households, stays."""

    __tablename__ = "rollup_hourly"
    __table_args__ = (Index("ix_rollup_hourly_day", "day"),)

    center_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int]  # Monday 0, as datetime.weekday()
    visits: Mapped[int]
    children: Mapped[int]
    new_visits: Mapped[int]  # the household's first visit anywhere
    stays: Mapped[int]  # visits ended by a check-out (not by deleting the registration)
    stay_seconds: Mapped[int] = mapped_column(BigInteger)
    # The children per age band (dashboards.aggregate.AGE_BANDS): rollup_age is made from
    # these, not from another scan of the visits.
    children_0: Mapped[int] = mapped_column(default=0, server_default="0")
    children_1: Mapped[int] = mapped_column(default=0, server_default="0")
    children_2: Mapped[int] = mapped_column(default=0, server_default="0")
    children_3_5: Mapped[int] = mapped_column(default=0, server_default="0")
    children_6_up: Mapped[int] = mapped_column(default=0, server_default="0")


class DistrictUsage(Base):
    """Visits per center, local day and district of residence ("" when unknown)."""

    __tablename__ = "rollup_district"
    __table_args__ = (Index("ix_rollup_district_day", "day"),)

    center_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    visits: Mapped[int]
    children: Mapped[int]
    new_visits: Mapped[int]


class AgeUsage(Base):
    """Children per center, local day, hour and age band on the visit day."""

    __tablename__ = "rollup_age"
    __table_args__ = (Index("ix_rollup_age_day", "day"),)

    center_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(primary_key=True)
    age_band: Mapped[str] = mapped_column(String(8), primary_key=True)
    weekday: Mapped[int]
    children: Mapped[int]
