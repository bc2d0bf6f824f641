"""Fixtures: a fresh database per test (SQLite, and PostgreSQL when configured), the LINE
emulator on loopback, and the app served over real HTTP."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

import migrations
from cityhall import create_app
from cityhall.config import TestingConfig, normalize_database_url
from models import Base

ROOT = Path(__file__).resolve().parents[1]  # the checkout under test
CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"
POSTGRES_URL = os.environ.get("CITYHALL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
# A process started outside TestingConfig (web, worker, clock, any `cityhall` command) refuses
# to start without these; random for each test run, like a real deployment's.
PROCESS_SECRETS = {"LINE_CHANNEL_SECRET": CHANNEL_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
                   "SECRET_KEY": secrets.token_urlsafe(48),
                   "CHECKIN_TOKEN_KEY": secrets.token_urlsafe(48)}


def process_env(**values: str) -> dict[str, str]:
    """Return the environment for a `cityhall` or gunicorn subprocess of this checkout."""
    return dict(os.environ, PYTHONPATH=str(ROOT), **PROCESS_SECRETS, **values)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate one SQLite file once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create a throw-away database on the configured server and migrate it once."""
    admin_url = normalize_database_url(POSTGRES_URL)
    name = f"cityhall_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """A migrated, empty database for this test."""
    if request.param == "sqlite":
        path = tmp_path / "cityhall.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def emulator_server():
    from emulator.server import EmulatorServer

    server = EmulatorServer(CHANNEL_SECRET, ACCESS_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def line(emulator_server):
    """The emulator's control client, reset for this test."""
    from emulator.client import EmulatorClient

    client = EmulatorClient(emulator_server.url)
    client.reset()
    return client


@pytest.fixture
def app(database_url, emulator_server):
    """The app on this test's database, talking to the emulator."""
    config = TestingConfig(DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
                           LINE_DATA_API_BASE_URL=emulator_server.url,
                           LINE_CHANNEL_SECRET=CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN)
    application = create_app(config)
    yield application
    application.extensions["cityhall.db"][0].dispose()


class LiveServer:
    """The app served by werkzeug in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_app(app, line) -> Iterator[LiveServer]:
    """The app over real HTTP, with the emulator's webhook pointed at it."""
    server = LiveServer(app).start()
    line.set_webhook(server.url + "/callback")
    yield server
    server.stop()


@pytest.fixture
def db_session(app):
    """A session on the test's database, for arranging and asserting."""
    with app.app_context():
        from cityhall.db import db

        with db.session() as session:
            yield session
