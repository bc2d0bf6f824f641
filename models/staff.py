"""Staff accounts, their scopes, sign-in sessions, second factors and sign-in throttling."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Column, Enum, ForeignKey, String, Table, false
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
    # Second factor (TOTP, RFC 6238): the base32 secret once confirmed, the one being
    # enrolled, and the last time step accepted, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    # Set per request by the sign-in machinery: the raw token of the session in use, which
    # Flask-Login keeps in the cookie instead of the account id (see staff.auth).
    session_token = None

    # Flask-Login's user protocol.
    is_authenticated = True
    is_anonymous = False

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None

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


class RecoveryCode(Base):
    """A one-time code that stands in for the TOTP code; only its SHA-256 is stored."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    # The codes carry 120 random bits, so a plain hash cannot be reversed (ASVS 6.5.2).
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Failed sign-ins counted for one key: an address, a typed username, or both together.

    The key is a keyed hash (see staff.throttle), so whatever was typed is never stored.
    """

    __tablename__ = "staff_sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    # No attempt under this key is checked before this time.
    next_attempt_at: Mapped[datetime]
