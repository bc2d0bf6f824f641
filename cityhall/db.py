"""The database extension: one engine and session factory per app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import sqlite3
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
