"""Fixtures: a fresh database per test (SQLite, and PostgreSQL when configured), the LINE
emulator on loopback, and the app served over real HTTP."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from jinja2 import BytecodeCache
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


# CITYHALL_TEST_CPU_LOG=path appends one JSON line per test: its wall seconds and the CPU
# seconds its process and the subprocesses it waited for used (setup, call and teardown). On a
# machine shared with other work the wall time says little; the CPU seconds compare runs.
CPU_LOG = os.environ.get("CITYHALL_TEST_CPU_LOG")


def cpu_seconds() -> float:
    """CPU used so far by this process and by the child processes it has waited for."""
    used = os.times()
    return used.user + used.system + used.children_user + used.children_system


if CPU_LOG:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        wall, cpu = time.perf_counter(), cpu_seconds()
        yield
        record = {"test": item.nodeid, "worker": xdist_worker(),
                  "wall": round(time.perf_counter() - wall, 3), "cpu": round(cpu_seconds() - cpu, 3)}
        with open(CPU_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")


# The longest tests (a Hypothesis state machine, processes started and waited for, a real
# browser) run first, so that no worker is still running one of them after the other worker
# has finished everything else. Only the order changes; every test still runs.
SLOW_FIRST = ("test_form_properties", "test_demo_walk", "test_demo_setup", "test_cli",
              "test_clock_lock", "test_outbox", "test_process_imports")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.path.stem
        if module in SLOW_FIRST:
            return SLOW_FIRST.index(module)
        return len(SLOW_FIRST) + (item.get_closest_marker("browser") is None)

    items.sort(key=rank)  # stable: the collection order within a rank is kept


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate one SQLite file once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrations.upgrade(f"sqlite:///{path}")
    return path


def xdist_worker() -> str:
    """This pytest-xdist worker's name (gw0, gw1, ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create this worker's throw-away database on the configured server, migrated once.

    Each pytest-xdist worker has its own (cityhall_test_gw0_..., cityhall_test_gw1_...).
    Commits there need not wait for the disk: the data is thrown away after the run.
    """
    admin_url = normalize_database_url(POSTGRES_URL)
    name = f"cityhall_test_{xdist_worker()}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_postgres(url: str) -> None:
    """Empty every model's table and restart every sequence, as a TRUNCATE of all would.

    TRUNCATE of every table costs 0.1-0.5 s (new files for each table); most tests write a few
    tables, so only the tables holding rows are emptied, by DELETE with triggers and foreign
    key checks off (the visit change-log trigger would refill its table), and sequences are
    reset with setval: an order of magnitude faster, the same empty database.
    """
    # utc_offsets is reference data the migrations filled (Tokyo's UTC offset, one row): kept,
    # or put back after a test that changed the city's zone.
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "utc_offsets"]
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            probe = "SELECT " + ", ".join(f'EXISTS (SELECT 1 FROM "{t}")' for t in tables)
            filled = [t for t, rows in zip(tables, conn.execute(sa.text(probe)).one()) if rows]
            if filled:
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                for table in reversed(filled):
                    conn.execute(sa.text(f'DELETE FROM "{table}"'))
            if conn.execute(sa.text("SELECT count(*) <> 1 OR min(timezone) <> 'Asia/Tokyo' "
                                    "FROM utc_offsets")).scalar():
                conn.execute(sa.text("DELETE FROM utc_offsets"))
                conn.execute(sa.text("INSERT INTO utc_offsets (until_epoch, offset_seconds, "
                                     "timezone) VALUES (:end, 32400, 'Asia/Tokyo')"),
                             {"end": 2 ** 62})
            sequences = conn.execute(sa.text(
                "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences "
                "WHERE schemaname = current_schema()")).scalars().all()
            if sequences:
                conn.execute(sa.text("SELECT " + ", ".join(
                    f"setval('{s}', 1, false)" for s in sequences)))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """A migrated, empty database for this test."""
    if request.param == "sqlite":
        path = tmp_path / "cityhall.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    empty_postgres(url)
    return url


@pytest.fixture(scope="session", autouse=True)
def shared_chromium() -> Iterator[None]:
    """Close the Chromium the browser tests of this process shared (tests/browser.py)."""
    yield
    browser = sys.modules.get("tests.browser")
    if browser is not None:
        browser.close_shared_browser()


@pytest.fixture(scope="session")
def emulator_server():
    import requests

    from emulator.core import EXTENSION_KEY
    from emulator.server import EmulatorServer

    server = EmulatorServer(CHANNEL_SECRET, ACCESS_TOKEN).start()
    # Webhook posts go through a session, so live_app can mount its app in-process on it.
    server.app.extensions[EXTENSION_KEY].http = requests.Session()
    yield server
    server.stop()


def over_http(request) -> bool:
    """Tell whether this test drives the chat over real HTTP (marked `http`)."""
    return request.node.get_closest_marker("http") is not None


@pytest.fixture
def line(request, emulator_server):
    """The emulator's control client, reset for this test.

    In-process (tests/inprocess.py) unless the test is marked `http`.
    """
    from emulator.client import EmulatorClient
    from tests import inprocess

    client = EmulatorClient(emulator_server.url)
    if not over_http(request):
        inprocess.mount(client.http, emulator_server.url, emulator_server.app)
    client.reset()
    return client


def share_url_builders() -> None:
    """Let every app this test process makes share werkzeug's compiled URL builders.

    Each test makes its own app, and registering its ~170 routes has werkzeug generate and
    compile two Python functions per route (Rule._compile_builder: about 70 ms of every
    create_app). A builder depends only on the rule's text (which holds its converters'
    arguments), its defaults and its converters' classes, and reads the rule it builds for
    from its first argument, so one compiled per distinct rule serves every app: URLs are
    built exactly as before (matching is compiled per app as ever). Left alone if a werkzeug
    release removes this private method.
    """
    from werkzeug.routing import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "shared", False):
        return
    built: dict = {}

    def shared_builder(rule: Rule, append_unknown: bool = True):
        defaults = rule.defaults or {}
        key = (rule.rule, rule.host, rule.subdomain, rule.merge_slashes,
               rule.map.host_matching if rule.map is not None else None, tuple(rule._trace),
               tuple(sorted((str(k), repr(v)) for k, v in defaults.items())),
               tuple((name, type(c)) for name, c in rule._converters.items()),
               append_unknown)
        builder = built.get(key)
        if builder is None:
            builder = built[key] = compile_builder(rule, append_unknown)
        return builder

    shared_builder.shared = True
    shared_builder.original = compile_builder
    Rule._compile_builder = shared_builder


share_url_builders()


class SharedBytecodeCache(BytecodeCache):
    """Jinja's compiled templates, kept in memory for every app this test process makes.

    Each test makes its own app, whose Jinja environment would parse and compile every page it
    renders again (30-40 ms a page). Jinja checks each template's source against the cached
    code's checksum, so an edited template is compiled anew; rendering is unchanged.
    """

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedBytecodeCache()


@pytest.fixture
def app(database_url, emulator_server):
    """The app on this test's database, talking to the emulator."""
    config = TestingConfig(DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
                           LINE_DATA_API_BASE_URL=emulator_server.url,
                           LINE_CHANNEL_SECRET=CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN)
    application = create_app(config)
    application.jinja_env.bytecode_cache = TEMPLATES
    yield application
    application.extensions["cityhall.db"][0].dispose()


# How often a test server's loop looks for a shutdown request: stopping waits up to this long
# (werkzeug's 0.5 s default cost half a second for every test served over HTTP).
POLL_SECONDS = 0.02


class LiveServer:
    """The app served by werkzeug in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": POLL_SECONDS})

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_app(request, app, line, emulator_server) -> Iterator[LiveServer]:
    """The app over real HTTP, with the emulator's webhook pointed at it.

    The emulator posts the webhook to it in-process (tests/inprocess.py) unless the test is
    marked `http`; the server answers real HTTP either way (browsers, staff pages).
    """
    from emulator.core import EXTENSION_KEY
    from tests import inprocess

    server = LiveServer(app).start()
    line.set_webhook(server.url + "/callback")
    webhook = emulator_server.app.extensions[EXTENSION_KEY].http
    if not over_http(request):
        inprocess.mount(webhook, server.url, app)
    yield server
    inprocess.unmount(webhook, server.url)
    server.stop()


@pytest.fixture
def db_session(app):
    """A session on the test's database, for arranging and asserting."""
    with app.app_context():
        from cityhall.db import db

        with db.session() as session:
            yield session
