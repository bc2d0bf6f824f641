"""GET /healthz: the app is up and its database answers."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import func, select, text

from cityhall.db import db
from models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the database answers, and how many pushes wait in the outbox."""
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
            pending = session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.status == OutboxStatus.PENDING))
    except Exception as exc:
        log.error("health check failed: %s", exc)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok", outbox_pending=pending)
