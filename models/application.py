"""Submitted forms (applications), their status history, receipt counters and uploads."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class SubmissionStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETURNED = "returned"
    DONE = "done"


def _status_enum() -> Enum:
    return Enum(SubmissionStatus, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e])


class Submission(Base):
    """One submitted form; anonymous ones carry no resident, household or exact time."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(32), unique=True)
    form_id: Mapped[str] = mapped_column(String(64), index=True)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    # The center the resident chose when the form routes to one (route_to_center): that
    # center's staff see the submission too. A code, like the department's.
    center_code: Mapped[str | None] = mapped_column(String(32), index=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(16), default="ja")
    status: Mapped[SubmissionStatus] = mapped_column(_status_enum(),
                                                     default=SubmissionStatus.RECEIVED)
    status_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[list[StatusChange]] = relationship(back_populates="submission",
                                                       order_by="StatusChange.id",
                                                       cascade="all, delete-orphan")


class StatusChange(Base):
    """One status change of a submission, with the comment sent to the resident."""

    __tablename__ = "submission_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    status: Mapped[SubmissionStatus] = mapped_column(_status_enum())
    comment: Mapped[str | None] = mapped_column(Text)  # in Japanese: every resident's fallback
    # The same message in other languages, {"vi": "..."}, each optional; the resident reads
    # theirs when it is there, else the Japanese comment.
    comments: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True))
    changed_by: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    submission: Mapped[Submission] = relationship(back_populates="changes")


class ReceiptCounter(Base):
    """The last receipt number given per prefix and year; one row, bumped under its lock."""

    __tablename__ = "receipt_counters"
    __table_args__ = (UniqueConstraint("prefix", "year", name="uq_receipt_counters_prefix_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8))
    year: Mapped[int]
    last: Mapped[int] = mapped_column(default=0)


class Upload(Base):
    """A photo a resident sent into a form, kept in the database (shared by every process)."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who sent it, so erasure finds a photo even when no submission refers to it any more.
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
