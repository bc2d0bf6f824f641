"""One database session per staff request, closed when the request ends."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session

from cityhall.db import db


def db_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "staff_db" not in g:
        g.staff_db = db.session()
    return g.staff_db


def _close(_exc: BaseException | None) -> None:
    session = g.pop("staff_db", None)
    if session is not None:
        # Closing rolls back anything uncommitted; on SQLite it also frees the write lock.
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
