"""The `cityhall` command, the health check, migrations and the clock."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from cityhall.cli import main
from cityhall.clock import build_scheduler
from cityhall.db import db
from cityhall.jobs import JOBS
from models import Base, Center, ProcessedEvent, utcnow
from tests.conftest import process_env


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def test_seed_is_idempotent_and_centers_list_prints_code_tab_name(app, cli):
    for _ in range(2):
        result = cli.invoke(main, ["seed"])
        assert result.exit_code == 0, result.output
    result = cli.invoke(main, ["centers", "list"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert "central\t中央子育て支援センター" in lines
    assert len(lines) == 3


def test_cityhall_works_from_any_directory(database_url, tmp_path):
    env = process_env(DATABASE_URL=database_url)
    for args in (["db", "upgrade"], ["seed"], ["centers", "list"], ["jobs", "list"]):
        done = subprocess.run([sys.executable, "-m", "cityhall", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert "prune-webhook-events" in done.stdout


def test_a_missing_or_empty_database_is_a_one_line_hint_and_no_file_is_made(tmp_path):
    env = process_env()
    env.pop("DATABASE_URL", None)
    env.pop("CITYHALL_INSTANCE_DIR", None)
    default = tmp_path / "instance" / "cityhall.sqlite3"
    empty = tmp_path / "elsewhere" / "cityhall.sqlite3"
    empty.parent.mkdir()
    empty.touch()
    for extra, path in (({}, default), ({"CITYHALL_INSTANCE_DIR": str(empty.parent)}, empty)):
        done = subprocess.run([sys.executable, "-m", "cityhall", "centers", "list"],
                              cwd=tmp_path, env=dict(env, **extra), capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [
            f"Error: no database schema at sqlite:///{path}: run `cityhall db upgrade` to "
            "create it, or set DATABASE_URL (or CITYHALL_INSTANCE_DIR, where the default "
            "SQLite file lives) to the database you meant"]
    assert not default.parent.exists()


def test_jobs_run_takes_now_and_is_idempotent(app, cli):
    with app.app_context(), db.transaction() as session:
        session.add(ProcessedEvent(webhook_event_id="OLD", event_type="message",
                                   processed_at=utcnow() - timedelta(days=30)))
        session.add(ProcessedEvent(webhook_event_id="NEW", event_type="message"))
    result = cli.invoke(main, ["jobs", "run", "prune-webhook-events", "--now",
                               utcnow().isoformat()])
    assert result.exit_code == 0 and "prune-webhook-events: 1" in result.output
    result = cli.invoke(main, ["jobs", "run", "prune-webhook-events"])
    assert "prune-webhook-events: 0" in result.output
    with app.app_context(), db.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


def test_unknown_job_is_refused_with_the_known_names(cli):
    result = cli.invoke(main, ["jobs", "run", "nope"])
    assert result.exit_code != 0
    assert "prune-webhook-events" in result.output


def test_worker_once_drains_and_exits(app, cli, line):
    from bot.outbox import enqueue

    user = line.create_user(display_name="x")["userId"]
    with app.app_context(), db.transaction() as session:
        enqueue(session, [user], [{"type": "text", "text": "テスト"}])
    result = cli.invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert line.texts(user) == ["テスト"]


def test_healthz_checks_the_database(app):
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_healthz_reports_an_unreachable_database():
    from cityhall import create_app
    from cityhall.config import TestingConfig

    # Nothing listens on port 9 of loopback: the connection is refused at once.
    broken = create_app(TestingConfig(DATABASE_URL="postgresql://postgres@127.0.0.1:9/none"))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_clock_schedules_every_job_and_the_web_app_starts_none(app):
    scheduler = build_scheduler(app)
    assert {job.id for job in scheduler.get_jobs()} == set(JOBS)
    assert "apscheduler" not in " ".join(app.extensions)


def test_times_are_stored_in_utc_and_read_back_aware(app):
    with app.app_context(), db.transaction() as session:
        session.add(Center(code="tz", name_ja="時刻", name_en="Time"))
    with app.app_context(), db.session() as session:
        event = ProcessedEvent(webhook_event_id="TZ", event_type="follow")
        session.add(event)
        session.commit()
        session.expire_all()
        stored = session.get(ProcessedEvent, "TZ").processed_at
    assert stored.utcoffset() == timedelta(0)
    assert abs((utcnow() - stored).total_seconds()) < 60


def test_naive_datetimes_are_refused(app):
    from datetime import datetime

    with app.app_context(), db.session() as session:
        session.add(ProcessedEvent(webhook_event_id="N", event_type="x",
                                   processed_at=datetime(2026, 1, 1)))
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            session.flush()
