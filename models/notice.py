"""Notices pushed to residents by segment, their opt-outs, and age-triggered reminders.

A notice is one row however many it reaches: its delivery is the outbox rows (multicasts of
up to 500 residents sharing a language) whose `source` is `notice:<id>:<language>`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending-approval"
    APPROVED = "approved"
    SCHEDULED = "scheduled"  # waits for send_at (or the end of quiet hours)
    QUEUED = "queued"  # its outbox rows are written; the worker delivers them
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class NoticeTopic(enum.StrEnum):
    """What a notice is about; residents opt out per topic."""

    EVENTS = "events"
    CLOSURES = "closures"
    REMINDERS = "reminders"
    NEWS = "news"


class Notice(Base):
    """One notice: what it says per language, to whom (a segment), when, and its approval."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_due", "status", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))  # the Japanese title, required
    # {"vi": "...", "en": "..."}: the title in other languages, each optional; a language
    # without one reads the Japanese title.
    titles: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True))
    # {"ja": "...", "en": "..."}: Japanese is required; others are optional. A resident whose
    # language has no text gets the Japanese one (notices.messages.language_for).
    bodies: Mapped[dict[str, str]] = mapped_column(JSON)
    topic: Mapped[str] = mapped_column(String(16), default=NoticeTopic.NEWS.value)
    # staff | cli | closure | reopen | reminder | feature (another feature's service call)
    kind: Mapped[str] = mapped_column(String(16), default="staff")
    segment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(default=False)
    link_url: Mapped[str | None] = mapped_column(String(1000))
    link_label: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(24), default=NoticeStatus.DRAFT.value)
    send_at: Mapped[datetime | None]  # asked-for time; None: as soon as released
    queued_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approval_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    center_id: Mapped[int | None] = mapped_column(ForeignKey("centers.id"))  # closures
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    source: Mapped[str | None] = mapped_column(String(64))  # e.g. "events:cancelled:12"
    targeted_residents: Mapped[int] = mapped_column(default=0)
    targeted_households: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeImage(Base):
    """A notice's image, resized to LINE's limits, served to LINE from a signed URL."""

    __tablename__ = "notice_images"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"),
                                           primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    url: Mapped[str] = mapped_column(String(1000))  # signed, as LINE fetches it


class NoticeOptOut(Base):
    """A resident who said "stop notices" for a topic."""

    __tablename__ = "notice_opt_outs"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             primary_key=True)
    topic: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgeReminder(Base):
    """A reminder sent to a child's guardians once, when the child reaches an age."""

    __tablename__ = "age_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    age_months: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    # As Notice.titles: the title in other languages than Japanese, each optional.
    titles: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True))
    bodies: Mapped[dict[str, str]] = mapped_column(JSON)
    link_url: Mapped[str | None] = mapped_column(String(1000))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReminderSent(Base):
    """A reminder sent for a child: the primary key makes "once per child, ever" true."""

    __tablename__ = "age_reminders_sent"

    reminder_id: Mapped[int] = mapped_column(ForeignKey("age_reminders.id", ondelete="CASCADE"),
                                             primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"),
                                          primary_key=True)
    sent_on: Mapped[date] = mapped_column(Date)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
