"""Anonymous surveys: answers in their own table with nothing that ties them to a person, no
receipt number anywhere, once per resident and period without storing who, erasure, and the
migration of answers stored the old way."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

import migrations
from bot.flows.registry import forms
from bot.flows.schema import FormError, form_from_data
from cityhall.config import normalize_database_url
from cityhall.db import db
from cityhall.jobs import run_job
from models import OutboxMessage, Resident as ResidentRow, utcnow
from models.survey import SurveyAnswer, SurveyBallot
from residents import surveys
from tests.chat import Resident
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.flows_helpers import query, register, seed_city
from tests.test_applications import TODAY
from tests.test_erasure import drain, every_value

ALREADY = "このアンケートには今月すでに回答いただいています。ありがとうございました！"
THANKS = "ご回答ありがとうございました。回答はお名前と結び付けずに保存しました。"


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    return live_app


def answer_survey(person: Resident, comment: str | None = None, reply_fails: bool = False) -> None:
    person.menu("apply")
    person.tap("満足度アンケート")
    person.tap("とても満足")
    person.tap("中央")
    person.tap("決定")
    person.tap("いいえ")
    if comment:
        person.say(comment)
    else:
        person.tap("スキップ")
    if reply_fails:  # the thanks then go by push, through the outbox
        person.line.add_fault("/v2/bot/message/reply", status=500)
    person.tap("送信")


def count(app, model) -> int:
    return query(app, lambda s: s.scalar(select(func.count()).select_from(model)))


def key(app) -> bytes:
    return surveys.ballot_key(app.config)


def resident_row(app, user_id: str) -> ResidentRow:
    return query(app, lambda s: s.scalars(select(ResidentRow).where(
        ResidentRow.line_user_id == user_id)).one())


@pytest.mark.http  # end to end over real HTTP; the file's other chat tests run in-process
def test_an_answer_is_stored_with_nothing_that_ties_it_to_the_resident(city, line, app):
    person = Resident(line)
    register(person, children=1)
    answer_survey(person, "ベビーカー置き場がほしい", reply_fails=True)
    drain(app)
    assert person.last() == THANKS  # no receipt number to quote or match
    columns = {c.name for c in SurveyAnswer.__table__.columns}
    assert columns == {"id", "form_id", "department_code", "answers", "answered_on"}
    [(answer_id, answered_on)] = query(app, lambda s: s.execute(
        select(SurveyAnswer.id, SurveyAnswer.answered_on)).all())
    assert answered_on == TODAY and len(answer_id) == 36
    # The comment is stored once, in survey_answers; the outbox row holds the bare thanks.
    holders = {(t, c) for t, c, v in every_value(app)
               if "ベビーカー置き場" in json.dumps(v, ensure_ascii=False, default=str)}
    assert holders == {("survey_answers", "answers")}
    outbox = query(app, lambda s: [r.messages for r in s.scalars(select(OutboxMessage))])
    assert outbox == [[{"type": "text", "text": THANKS}]]
    assert not any(answer_id in json.dumps(v, default=str) for t, _c, v in every_value(app)
                   if t != "survey_answers")
    # The ballot names nobody without the key: neither the LINE id nor a plain hash of it.
    [ballot] = query(app, lambda s: s.scalars(select(SurveyBallot.token)).all())
    plain = hashlib.sha256(f"{person.user_id}\x1fsurvey\x1f{TODAY:%Y-%m}".encode()).hexdigest()
    assert person.user_id not in ballot and ballot != plain


def test_a_resident_answers_once_per_period(city, line, app):
    person = Resident(line)
    answer_survey(person)
    assert person.last() == THANKS
    person.menu("apply")
    person.tap("満足度アンケート")
    assert person.last() == ALREADY
    other = Resident(line, name="別の住民")
    answer_survey(other)
    assert other.last() == THANKS and count(app, SurveyAnswer) == 2
    form, row = forms().get("survey"), resident_row(app, person.user_id)
    next_month = date(TODAY.year + TODAY.month // 12, TODAY.month % 12 + 1, 1)
    with app.app_context(), db.transaction() as session:
        assert surveys.record_answer(session, key(app), form, row, {"satisfaction": "3"},
                                     TODAY) is None
        assert surveys.record_answer(session, key(app), form, row, {"satisfaction": "3"},
                                     next_month) is not None
    assert count(app, SurveyAnswer) == 3


def test_an_answer_sent_after_another_in_the_period_is_refused_at_submit(city, line, app):
    person = Resident(line)
    person.menu("apply")
    person.tap("満足度アンケート")
    with app.app_context(), db.transaction() as session:  # e.g. a second phone was quicker
        surveys.record_answer(session, key(app), forms().get("survey"),
                              resident_row(app, person.user_id), {"satisfaction": "1"}, TODAY)
    person.tap("とても満足")
    person.tap("中央")
    person.tap("決定")
    person.tap("いいえ")
    person.tap("スキップ")
    person.tap("送信")
    assert person.last() == ALREADY and count(app, SurveyAnswer) == 1


def test_racing_answers_of_one_resident_store_one(app):
    seed_city(app)
    with app.app_context(), db.transaction() as session:
        session.add(ResidentRow(line_user_id="Uracer"))
    form, row = forms().get("survey"), resident_row(app, "Uracer")
    barrier = threading.Barrier(4)
    stored: list[bool] = []

    def answer() -> None:
        with app.app_context(), db.transaction() as session:
            barrier.wait(10)
            stored.append(surveys.record_answer(session, key(app), form, row,
                                                {"satisfaction": "5"}, TODAY) is not None)

    threads = [threading.Thread(target=answer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(stored) == [False, False, False, True]
    assert count(app, SurveyAnswer) == 1 and count(app, SurveyBallot) == 1


def test_erasure_forgets_the_residents_ballots_and_keeps_the_answers(city, line, app):
    person, other = Resident(line), Resident(line, name="別の住民")
    register(person, children=1)
    answer_survey(person)
    answer_survey(other)
    form, row = forms().get("survey"), resident_row(app, person.user_id)
    with app.app_context(), db.transaction() as session:
        surveys.record_answer(session, key(app), form, row, {}, date(2025, 1, 15))
    person.menu("mydata")
    person.tap("削除する")
    person.tap("削除する")
    assert count(app, SurveyBallot) == 1 and count(app, SurveyAnswer) == 3
    with app.app_context(), db.session() as session:
        assert surveys.has_answered(session, key(app), resident_row(app, other.user_id), form,
                                    TODAY)


def test_ballot_key_is_its_own_setting_or_derived_from_the_secret_key():
    assert surveys.ballot_key({"SURVEY_BALLOT_KEY": "k1", "SECRET_KEY": "s"}) == b"k1"
    derived = surveys.ballot_key({"SURVEY_BALLOT_KEY": "", "SECRET_KEY": "s"})
    assert derived != b"s" and derived == surveys.ballot_key({"SECRET_KEY": "s"})


@pytest.mark.parametrize("period, day, name", [
    ("week", date(2026, 12, 31), "2026-W53"), ("month", date(2026, 12, 1), "2026-12"),
    ("quarter", date(2026, 8, 9), "2026-Q3"), ("year", date(2026, 1, 1), "2026")])
def test_periods_are_calendar_periods_of_the_local_day(period, day, name):
    form = form_from_data({**forms().get("survey").raw, "period": period}, "test")
    assert surveys.period_of(form, day) == name


@pytest.mark.parametrize("change, message", [
    ({"period": "day"}, "period: must be one of: week, month, quarter, year"),
    ({"anonymous": False, "receipt_prefix": "Q"}, "period: only an anonymous form has"),
    ({"anonymous": False}, "receipt_prefix: needs 1 to 3 capital letters"),
])
def test_form_periods_are_checked(change, message):
    with pytest.raises(FormError, match=message):
        form_from_data({**forms().get("survey").raw, **change}, "test")


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path) -> Iterator[str]:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    admin = sa.create_engine(normalize_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"cityhall_migration_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migration_moves_anonymous_answers_out_of_submissions(empty_database, monkeypatch):
    monkeypatch.setenv("CITYHALL_TIMEZONE", "Asia/Tokyo")
    url = empty_database
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    migrations.upgrade(url, script.get_revision("0008_privacy").down_revision)
    engine = sa.create_engine(normalize_database_url(url))
    utc = "+00" if engine.dialect.name == "postgresql" else ""  # SQLite stores UTC, naive
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO residents (id, line_user_id, language, language_chosen, "
                             "blocked, created_at, updated_at) VALUES (1, 'U1', 'ja', false, false, "
                             "'2026-11-01', '2026-11-01')"))
        insert = sa.text(
            "INSERT INTO submissions (id, receipt_no, form_id, department_code, resident_id, "
            "answers, language, status, submitted_at, updated_at) VALUES (:id, :receipt, :form, "
            "'childcare', :resident, :answers, 'ja', 'received', :at, :at)")
        conn.execute(insert, [
            {"id": 9, "receipt": "C-2026-000001", "form": "consultation", "resident": 1,
             "answers": '{"topic": "other"}', "at": "2026-11-20 03:04:05" + utc},
            {"id": 10, "receipt": "S-2026-000001", "form": "survey", "resident": None,
             "answers": '{"satisfaction": "5"}', "at": "2026-11-20 15:00:00" + utc},
            {"id": 11, "receipt": "C-2026-000002", "form": "consultation", "resident": None,
             "answers": "{}", "at": "2026-11-21 03:04:05" + utc}])
        conn.execute(sa.text("INSERT INTO submission_status_changes (submission_id, status, "
                             "changed_at) VALUES (10, 'done', '2026-11-22')"))
    migrations.upgrade(url)
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT id FROM submissions ORDER BY id")).scalars().all()
        moved = conn.execute(sa.text(
            "SELECT form_id, answers, CAST(answered_on AS VARCHAR(10)) FROM survey_answers")).all()
        changes = conn.execute(sa.text("SELECT count(*) FROM submission_status_changes")).scalar()
    engine.dispose()
    assert kept == [9, 11] and changes == 0
    # 15:00 UTC on the 20th is midnight of the 21st in Tokyo: the local day is kept.
    assert [(f, a if isinstance(a, dict) else json.loads(a), d) for f, a, d in moved] == [
        ("survey", {"satisfaction": "5"}, "2026-11-21")]


def test_mixing_rewrites_recent_answers_apart_from_their_events_transaction(city, line, app):
    person = Resident(line)
    answer_survey(person, "おむつ替え台を増やしてほしい")
    postgres = app.config["DATABASE_URL"].startswith("postgresql")
    xmin = ("SELECT xmin::text FROM {table}" if postgres else "SELECT 1 FROM {table}")
    shared = query(app, lambda s: set(s.scalars(sa.text(xmin.format(table="survey_answers"))))
                   & set(s.scalars(sa.text(xmin.format(table="processed_events")))))
    assert shared  # on PostgreSQL: the answer and its event's dedup row share a transaction
    before = query(app, lambda s: s.execute(select(SurveyAnswer.id, SurveyAnswer.answers,
                                                   SurveyAnswer.answered_on)).all())
    with app.app_context():
        assert run_job("mix-survey-answers", utcnow()) == 1
        assert run_job("mix-survey-answers", utcnow()) == 1  # rerun: same rows, same content
    assert query(app, lambda s: s.execute(select(SurveyAnswer.id, SurveyAnswer.answers,
                                                 SurveyAnswer.answered_on)).all()) == before
    assert count(app, SurveyBallot) == 1
    if postgres:
        for table in ("survey_answers", "survey_ballots"):
            assert not query(app, lambda s: set(s.scalars(sa.text(xmin.format(table=table))))
                             & set(s.scalars(sa.text(xmin.format(table="processed_events")))))
    person.menu("apply")
    person.tap("満足度アンケート")
    assert person.last() == ALREADY  # the ballot survived the rewrite
