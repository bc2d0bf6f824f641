"""Tell a transient database error (worth retrying the transaction) from a lasting one.

Classified by exception class and SQLSTATE (PostgreSQL) or SQLite's result code, never by
message text, which changes with the server's version and language.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

# SQLSTATE codes (PostgreSQL appendix A) whose transaction may succeed when run again.
TRANSIENT_SQLSTATES = {
    "23505": "unique violation (a concurrent insert won)",
    "40001": "serialization failure",
    "40P01": "deadlock",
    "55P03": "lock not available",
    "57P01": "server shut down",
    "57P02": "server crashed",
    "57P03": "server not accepting connections yet",
}
TRANSIENT_SQLSTATE_CLASSES = {"08": "connection lost"}

# SQLite primary result codes (the low byte of the extended code) worth a retry.
SQLITE_BUSY, SQLITE_LOCKED = 5, 6
# SQLite extended codes of a unique key clash (what a race with another insert gives).
SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE = 1555, 2067


def transient_reason(exc: BaseException) -> str | None:
    """Return why `exc` is worth retrying the whole transaction, or None when it is not."""
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return "connection lost"
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return TRANSIENT_SQLSTATES.get(sqlstate) or TRANSIENT_SQLSTATE_CLASSES.get(sqlstate[:2])
    if isinstance(orig, sqlite3.Error):
        return _sqlite_reason(orig)
    return None


def _sqlite_reason(orig: sqlite3.Error) -> str | None:
    code = getattr(orig, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    if code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED):
        return "database locked"
    if code in (SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE):
        return "unique violation (a concurrent insert won)"
    return None


def describe(exc: BaseException) -> str:
    """Return a one-line description of an error, without the SQL statement and its values."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)
        code = f" [{sqlstate}]" if sqlstate else ""
        text = f"{type(exc).__name__}{code}: {type(orig).__name__}: {orig}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:1000]


# SQLSTATEs of a database that is absent or was never migrated: undefined table, no database.
MISSING_SCHEMA_SQLSTATES = frozenset({"42P01", "3D000"})
SQLITE_CANTOPEN = 14


def missing_schema(exc: BaseException) -> bool:
    """Say whether `exc` means the database is missing or has no tables (not migrated yet)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in MISSING_SCHEMA_SQLSTATES:
        return True
    if isinstance(orig, sqlite3.Error):
        # SQLite reports a missing table with the generic SQLITE_ERROR: only its text tells.
        code = getattr(orig, "sqlite_errorcode", None)
        return code == SQLITE_CANTOPEN or str(orig).startswith("no such table")
    return False
