"""Anonymous survey answers, and the ballots that allow one answer per resident and period.

The two tables share nothing: an answer has a random id, its form and the local day only; a
ballot is a keyed hash of (resident, form, period) with no time at all. Neither has a rowid on
SQLite (rows are kept in key order, not insertion order), so row order links nothing either.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SurveyAnswer(Base):
    """One anonymous answer: the form, the day, the answers; nothing about who sent it."""

    __tablename__ = "survey_answers"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    form_id: Mapped[str] = mapped_column(String(64), index=True)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The local day only: an exact time could be matched with the resident's webhook events.
    answered_on: Mapped[date] = mapped_column(index=True)


class SurveyBallot(Base):
    """"Someone answered this form in this period": HMAC(key, LINE user, form, period)."""

    __tablename__ = "survey_ballots"
    __table_args__ = {"sqlite_with_rowid": False}

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    # In the clear so erasure can recompute a resident's tokens for each period there is.
    form_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
