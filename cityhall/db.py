"""The database extension: one engine and session factory per app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import os
import sqlite3
import threading
from collections import deque
from pathlib import Path
from urllib.parse import quote

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT (a RELEASE would commit), so
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class WriterQueue:
    """A first-come, first-served lock: the threads of a process wait their turn in a queue.

    SQLite has one write lock per file, and a connection that finds it taken sleeps and
    polls (1, 2, 5 ... 100 ms) in its busy handler: under many threads most of the waiting
    is that sleeping, and who gets in next is luck. Each thread of a process first queues
    here, so at most one of them is in BEGIN IMMEDIATE ... COMMIT at a time and the next one
    starts the moment the last commits; the busy handler only arbitrates between processes.
    `release` hands the lock straight to the longest waiter.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        """Wait for our turn; False when `timeout` seconds passed first (not holding then)."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:  # handed over between the timeout and here: ours after all
                return True
            return False

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


# One queue per SQLite file in this process, shared by every engine on that file.
_writer_queues: dict[str, WriterQueue] = {}
_writer_queues_lock = threading.Lock()
HOLDS = "cityhall.writer_queue"  # set in a connection's info while it holds its file's queue
WRITER_WAIT_SECONDS = 10.0  # the busy timeout: after that BEGIN IMMEDIATE waits by itself


def writer_queue(path: str) -> WriterQueue:
    """Return the process-wide writer queue of a SQLite file."""
    key = os.path.realpath(path)
    with _writer_queues_lock:
        return _writer_queues.setdefault(key, WriterQueue())


def _sqlite_begin_queued(queue: WriterQueue):
    def begin(connection) -> None:
        held = queue.acquire(WRITER_WAIT_SECONDS)
        if held:
            connection.info[HOLDS] = queue
        try:
            _sqlite_begin(connection)
        except BaseException:
            _release(connection.info)
            raise
    return begin


def _release(info: dict) -> None:
    queue = info.pop(HOLDS, None)
    if queue is not None:
        queue.release()


def _sqlite_end(name: str):
    """Commit or roll back on the driver connection first, then let the next writer in.

    SQLAlchemy's own commit/rollback that follows finds no transaction open: a no-op.
    """
    def end(connection) -> None:
        getattr(connection.connection.driver_connection, name)()
        _release(connection.info)
    return end


def _release_on_return(_dbapi_connection, record, *_args) -> None:
    # A connection returned to the pool (or dropped) in a transaction never holds the queue.
    _release(record.info)


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock up front: a transaction that read first and writes later
    # would otherwise fail at once with "database is locked" when another writer got in between.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, create: bool = False) -> Engine:
    """Build an engine with the settings each backend needs.

    A SQLite file is made only with `create` (migrations do that): a process that only reads
    must fail on a missing file instead of leaving an empty database behind.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        options: dict = {"connect_args": {"timeout": 10, "check_same_thread": False}}
        if path and path != ":memory:":
            if create:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            else:
                options = {"creator": _open_existing(path)}
        engine = create_engine(url, pool_size=10, max_overflow=20, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        if path and path != ":memory:":
            queue = writer_queue(path)
            event.listen(engine, "begin", _sqlite_begin_queued(queue))
            event.listen(engine, "commit", _sqlite_end("commit"))
            event.listen(engine, "rollback", _sqlite_end("rollback"))
            event.listen(engine.pool, "checkin", _release_on_return)
            event.listen(engine.pool, "invalidate", _release_on_return)
        else:
            event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _open_existing(path: str):
    """Return a connect function that opens an existing SQLite file and never creates one."""
    uri = f"file:{quote(path)}?mode=rw"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False)

    return connect


def dialect_insert(session: Session):
    """Return the backend's INSERT construct, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


class Database:
    """Bind an engine to a Flask app and hand out sessions."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["cityhall.db"] = (engine, sessionmaker(engine, expire_on_commit=False))

    @property
    def engine(self) -> Engine:
        return current_app.extensions["cityhall.db"][0]

    def session(self) -> Session:
        """Open a new session on the current app's engine."""
        return current_app.extensions["cityhall.db"][1]()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one transaction: commit on success, roll back on error."""
        with self.session() as session, session.begin():
            yield session


db = Database()
