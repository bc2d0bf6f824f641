"""Citizen reports: categories routed to departments, reports, photos, history, followers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, Enum, Float, ForeignKey, Index, LargeBinary, String, Text, false,
                        text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class ReportStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_OURS = "not_ours"
    MERGED = "merged"  # a duplicate of another report; its people follow the one kept


OPEN_STATUSES = (ReportStatus.RECEIVED, ReportStatus.IN_PROGRESS)


def _status_enum() -> Enum:
    return Enum(ReportStatus, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e])


class ReportCategory(Base):
    """What a report is about, and the department it goes to (admins may change both)."""

    __tablename__ = "report_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # A report still open this many days after it came in is overdue.
    target_days: Mapped[int] = mapped_column(default=14)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, language: str | None) -> str:
        """Return the category's name in `language` (Japanese unless English was asked for)."""
        return self.name_en if language == "en" else self.name_ja


class Report(Base):
    """One report; the reporter is seen only by the owning department's staff."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_category_status", "category_id", "status"),
        Index("ix_reports_lat_lon", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(32), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id"))
    category: Mapped[ReportCategory] = relationship()
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[ReportStatus] = mapped_column(_status_enum(), default=ReportStatus.RECEIVED)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    district_code: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    # Questions of disaster mode ({"injured": bool, "passable": bool}), empty otherwise.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True)
    contact_ok: Mapped[bool] = mapped_column(default=False)
    # Staff approved the report (and its first photo) for Open311 and other public lists.
    public: Mapped[bool] = mapped_column(default=False, server_default=false())
    public_comment: Mapped[str | None] = mapped_column(Text)
    passed_to: Mapped[str | None] = mapped_column(String(200))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="line", server_default="line")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    photos: Mapped[list[ReportPhoto]] = relationship(order_by="ReportPhoto.id",
                                                     cascade="all, delete-orphan")
    changes: Mapped[list[ReportChange]] = relationship(order_by="ReportChange.id",
                                                       cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ReportPhoto(Base):
    """A photo of a report, re-encoded as JPEG without any metadata (no GPS, no camera)."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(16), default="report")  # or "reopen"
    content_type: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int]
    height: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportChange(Base):
    """One entry of a report's history: a status change, a pass, a merge, a reopening."""

    __tablename__ = "report_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(16))  # created status pass merge reopen publish
    status: Mapped[ReportStatus | None] = mapped_column(_status_enum())
    public_comment: Mapped[str | None] = mapped_column(Text)  # Japanese: everyone's fallback
    # The public comment in other languages (code -> text); a language without one reads
    # the Japanese comment.
    public_comments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict,
                                                            server_default=text("'{}'"))
    internal_note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportFollower(Base):
    """A resident who gets a report's updates (the reporter is not listed here)."""

    __tablename__ = "report_followers"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportDraft(Base):
    """The report a resident is writing in the chat: one per resident, kept in the database."""

    __tablename__ = "report_drafts"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             primary_key=True)
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportDraftPhoto(Base):
    """A photo received for a draft, already cleaned; moved to the report at submission."""

    __tablename__ = "report_draft_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             index=True)
    width: Mapped[int]
    height: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportSetting(Base):
    """A switch of the reports feature (disaster mode), changed by admins."""

    __tablename__ = "report_settings"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, server_default=text("'null'"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
