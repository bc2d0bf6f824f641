"""Staff accounts, their scopes (centers, departments), sign-in sessions and failed sign-ins."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, Index, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.center import Center, Department


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    CENTER = "center"
    DEPARTMENT = "department"


staff_user_centers = Table(
    "staff_user_centers", Base.metadata,
    Column("staff_user_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("center_id", ForeignKey("centers.id", ondelete="CASCADE"), primary_key=True),
)

staff_user_departments = Table(
    "staff_user_departments", Base.metadata,
    Column("staff_user_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class StaffUser(Base):
    """A city employee who signs in to the staff web; never deleted, only disabled."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(
        Enum(StaffRole, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    centers: Mapped[list[Center]] = relationship(secondary=staff_user_centers,
                                                 order_by=Center.code)
    departments: Mapped[list[Department]] = relationship(secondary=staff_user_departments,
                                                         order_by=Department.code)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Set per request by the sign-in machinery: the raw token of the session in use, which
    # Flask-Login keeps in the cookie instead of the account id (see staff.auth).
    session_token = None

    # Flask-Login's user protocol.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return not self.disabled

    def get_id(self) -> str | None:
        return self.session_token

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.username} {self.role}>"


class StaffSession(Base):
    """One signed-in browser session; the cookie holds a token whose SHA-256 is the key."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    user: Mapped[StaffUser] = relationship()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    """A failed sign-in, counted per username and per address to lock out guessing."""

    __tablename__ = "staff_login_failures"
    __table_args__ = (
        Index("ix_staff_login_failures_username_at", "username", "at"),
        Index("ix_staff_login_failures_remote_addr_at", "remote_addr", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whatever was typed, lower-cased: unknown names count too, so lock-out reveals nothing.
    username: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
