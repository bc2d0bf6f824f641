"""The staff second factor: TOTP codes (RFC 6238, pyotp) and one-time recovery codes.

The roles in `STAFF_SECOND_FACTOR_ROLES` (admins by default) must have one; others may enrol. A code is accepted once: the account keeps the
last time step it accepted, and a conditional UPDATE moves it forward, so the same code
(or an older one) is refused even when two requests carry it at the same moment. Recovery
codes are stored as SHA-256 hashes (they carry 120 random bits) and spent by a conditional
UPDATE, so each works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

import pyotp
import qrcode
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from models.staff import RecoveryCode, StaffUser

ISSUER = "Smartphone City Hall"
RECOVERY_CODES = 10
# Steps either side of now that still count: phones whose clocks drift by up to 30 s.
VALID_WINDOW = 1
CODE = re.compile(r"^\d{6}$")
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def required_for(user: StaffUser, roles: Iterable[str]) -> bool:
    """Tell whether the account's role must have a second factor (`STAFF_SECOND_FACTOR_ROLES`)."""
    return user.role.value in roles


def asked_of(user: StaffUser, roles: Iterable[str]) -> bool:
    """Tell whether sign-in asks this account for a code (or to enrol, when required)."""
    return user.has_second_factor or required_for(user, roles)


def new_secret() -> str:
    """Return a fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: StaffUser, secret: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_url(uri: str) -> str:
    """Return the QR code of `uri` as a PNG data URL (the CSP allows data: images only)."""
    image = qrcode.make(uri, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def grouped(secret: str) -> str:
    """Return the secret in groups of four, easier to type by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def clean_code(code: str) -> str:
    """Return a typed code without spaces and hyphens, lower-cased."""
    return re.sub(r"[\s-]", "", code or "").lower()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """Return the time step whose code this is (within the window), or None."""
    code = clean_code(code)
    if not CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_code(dbs: Session, user: StaffUser, code: str, now: datetime) -> bool:
    """Accept a TOTP code of the account once; a replayed or older code is refused."""
    step = matching_step(user.totp_secret, code, now) if user.totp_secret else None
    if step is None:
        return False
    moved = dbs.execute(update(StaffUser).where(
        StaffUser.id == user.id, StaffUser.totp_secret == user.totp_secret,
        or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
        .values(totp_last_step=step))
    return moved.rowcount == 1


def prove(dbs: Session, user: StaffUser, code: str, now: datetime) -> bool:
    """Accept a current TOTP code, or spend a recovery code in its place."""
    return accept_code(dbs, user, code, now) or use_recovery_code(dbs, user, code, now)


def recovery_hash(code: str) -> str:
    return hashlib.sha256(clean_code(code).encode()).hexdigest()


def use_recovery_code(dbs: Session, user: StaffUser, code: str, now: datetime) -> bool:
    """Spend one of the account's unused recovery codes; False when it is not one."""
    if CODE.match(clean_code(code)):
        return False
    spent = dbs.execute(update(RecoveryCode).where(
        RecoveryCode.staff_user_id == user.id, RecoveryCode.code_hash == recovery_hash(code),
        RecoveryCode.used_at.is_(None)).values(used_at=now))
    return spent.rowcount == 1


def new_recovery_codes(dbs: Session, user: StaffUser, now: datetime) -> list[str]:
    """Replace the account's recovery codes with fresh ones and return them (shown once)."""
    dbs.execute(delete(RecoveryCode).where(RecoveryCode.staff_user_id == user.id))
    codes = ["-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4))
                      for _ in range(6)) for _ in range(RECOVERY_CODES)]
    dbs.add_all(RecoveryCode(staff_user_id=user.id, code_hash=recovery_hash(c), created_at=now)
                for c in codes)
    return codes


def unused_recovery_codes(dbs: Session, user: StaffUser) -> int:
    return dbs.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.staff_user_id == user.id, RecoveryCode.used_at.is_(None)))


def pending_secret(dbs: Session, user: StaffUser) -> str:
    """Return the secret being enrolled, making one if there is none yet."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = new_secret()
        dbs.flush()
    return user.totp_pending_secret


def enrolment(dbs: Session, user: StaffUser) -> dict[str, str]:
    """Return what the enrolment page shows: the QR code and the secret to type by hand."""
    secret = pending_secret(dbs, user)
    return {"qr": qr_data_url(provisioning_uri(user, secret)), "secret": grouped(secret)}


def confirm_enrolment(dbs: Session, user: StaffUser, code: str, now: datetime) -> list[str] | None:
    """Turn the pending secret on when `code` matches it; return new recovery codes or None."""
    secret = user.totp_pending_secret
    step = matching_step(secret, code, now) if secret else None
    if step is None:
        return None
    enable(user, secret, now, step)
    return new_recovery_codes(dbs, user, now)


def enable(user: StaffUser, secret: str, now: datetime, last_step: int | None = None) -> None:
    """Make `secret` the account's second factor."""
    user.totp_secret = secret
    user.totp_pending_secret = None
    user.totp_enabled_at = now
    user.totp_last_step = last_step


def remove(dbs: Session, user: StaffUser) -> None:
    """Take the second factor and its recovery codes away (reset or turned off)."""
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    dbs.execute(delete(RecoveryCode).where(RecoveryCode.staff_user_id == user.id))
