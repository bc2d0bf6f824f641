"""Anonymous surveys: answers nobody can tie to a resident, once per resident and period.

An answer goes to `survey_answers` (random id, form, local day, answers); that the resident
answered this period goes to `survey_ballots` as HMAC(key, LINE user id, form, period), whose
primary key refuses a second answer, even two racing ones. Without the key a ballot names
nobody; with it, it says only "this resident answered in this period", never which answer.
The key is SURVEY_BALLOT_KEY (docs/decisions.md, "Anonymous surveys").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bot.flows.schema import PERIODS, Form
from cityhall.db import dialect_insert
from models import Resident
from models.household import Household
from models.survey import SurveyAnswer, SurveyBallot


def ballot_key(config: Mapping[str, Any]) -> bytes:
    """Return the ballot key: SURVEY_BALLOT_KEY, else one derived from SECRET_KEY."""
    own = config.get("SURVEY_BALLOT_KEY")
    if own:
        return own.encode()
    return hmac.new(config["SECRET_KEY"].encode(), b"cityhall survey ballots",
                    hashlib.sha256).digest()


def period_of(form: Form, day: date) -> str:
    """Name the form's answer period that holds a local day."""
    return period_name(form.period, day)


def period_name(period: str, day: date) -> str:
    """Name the calendar period holding a day: 2026-W49, 2026-12, 2026-Q4 or 2026."""
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    return f"{day.year}-{day.month:02d}"


def ballot_token(key: bytes, line_user_id: str, form_id: str, period: str) -> str:
    """Return the keyed hash that stands for "this user answered this form in this period"."""
    message = "\x1f".join((line_user_id, form_id, period)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def has_answered(session: Session, key: bytes, resident: Resident, form: Form, day: date) -> bool:
    """Say whether the resident already answered the form in the period of `day`."""
    token = ballot_token(key, resident.line_user_id, form.id, period_of(form, day))
    return session.get(SurveyBallot, token) is not None


def record_answer(session: Session, key: bytes, form: Form, resident: Resident,
                  answers: dict[str, Any], day: date) -> SurveyAnswer | None:
    """Store an anonymous answer; None when the resident already answered this period.

    INSERT ... ON CONFLICT DO NOTHING on the ballot: of two racing answers the second waits
    for the first's transaction and then inserts nothing.
    """
    period = period_of(form, day)
    token = ballot_token(key, resident.line_user_id, form.id, period)
    cast = session.execute(
        dialect_insert(session)(SurveyBallot).values(token=token, form_id=form.id, period=period)
        .on_conflict_do_nothing(index_elements=["token"]).returning(SurveyBallot.token)).scalar()
    if cast is None:
        return None
    answer = SurveyAnswer(form_id=form.id, department_code=form.department, answers=answers,
                          answered_on=day)
    session.add(answer)
    session.flush()
    return answer


def list_answers(session: Session, department_codes: list[str], form_id: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[SurveyAnswer]:
    """Return the departments' anonymous answers, newest day first (random order within a day)."""
    query = select(SurveyAnswer).where(SurveyAnswer.department_code.in_(department_codes))
    if form_id is not None:
        query = query.where(SurveyAnswer.form_id == form_id)
    query = query.order_by(SurveyAnswer.answered_on.desc(), SurveyAnswer.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def count_by_form(session: Session, department_codes: list[str]) -> dict[str, int]:
    """Count the departments' anonymous answers per form."""
    rows = session.execute(select(SurveyAnswer.form_id, func.count())
                           .where(SurveyAnswer.department_code.in_(department_codes))
                           .group_by(SurveyAnswer.form_id))
    return {form_id: n for form_id, n in rows}


def mix_recent(session: Session, today: date) -> int:
    """Rewrite the answers and ballots of recent days in one transaction, in key order.

    On PostgreSQL every row carries the id of the transaction that wrote it (`xmin`), which
    an answer would share with the webhook event's dedup row (holding the LINE user id) until
    rewritten; rows are also laid out in insertion order. Rewritten together, a batch shares
    one transaction and key (random) order. Returns how many answers were rewritten.
    """
    since = today - timedelta(days=1)
    answers = _rewrite(session, SurveyAnswer.__table__, SurveyAnswer.answered_on >= since, "id")
    periods = {period_name(period, day) for day in (since, today) for period in PERIODS}
    _rewrite(session, SurveyBallot.__table__, SurveyBallot.period.in_(periods), "token")
    return answers


def _rewrite(session: Session, table, condition, key: str) -> int:
    rows = [dict(row) for row in session.execute(select(table).where(condition)).mappings()]
    if rows:
        session.execute(delete(table).where(table.c[key].in_([row[key] for row in rows])))
        session.execute(insert(table), sorted(rows, key=lambda row: row[key]))
    return len(rows)


def forget_ballots(session: Session, key: bytes, line_user_id: str) -> int:
    """Delete the user's ballots of every form and period on record; return how many."""
    pairs = session.execute(select(SurveyBallot.form_id, SurveyBallot.period).distinct()).all()
    tokens = [ballot_token(key, line_user_id, form_id, period) for form_id, period in pairs]
    if not tokens:
        return 0
    result = session.execute(delete(SurveyBallot).where(SurveyBallot.token.in_(tokens)))
    return result.rowcount


def erase(session: Session, resident: Resident, _household: Household | None) -> None:
    """Forget which periods the resident answered in (their answers were never linked)."""
    from flask import current_app

    forget_ballots(session, ballot_key(current_app.config), resident.line_user_id)
