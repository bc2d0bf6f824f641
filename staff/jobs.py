"""Housekeeping for sign-in records, run by the clock like every other job."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from cityhall.jobs import job
from models.staff import StaffSession
from staff import throttle


@job("prune-staff-sign-ins", "cron", "Forget ended staff sessions and spent sign-in throttles",
     hour=3, minute=40)
def prune_staff_sign_ins(session: Session, now: datetime) -> int:
    """Delete sessions that ended over a day ago and throttle counters that have forgotten."""
    hours = current_app.config["STAFF_SESSION_HOURS"]
    cutoff = now - timedelta(days=1)
    sessions = session.execute(delete(StaffSession).where(or_(
        StaffSession.revoked_at < cutoff,
        StaffSession.created_at < cutoff - timedelta(hours=hours))))
    return sessions.rowcount + throttle.prune(session, now)
