"""`cityhall create-staff` and the seed's center details."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityhall.db import db
from cityhall.seed import OPENING_HOURS, seed
from models.center import Center
from models.staff import StaffUser
from staff.cli import create_staff
from staff.passwords import verify_password
from tests.staff_support import audit_entries

PASSWORD = "a long enough password"


@pytest.fixture
def seeded(app):
    with app.app_context(), db.transaction() as session:
        seed(session)
    return app


def run(app, *args: str, password: str = PASSWORD):
    return app.test_cli_runner().invoke(create_staff, list(args), input=password + "\n")


def account(app, username: str) -> StaffUser:
    with app.app_context(), db.session() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        _ = user.centers, user.departments
        return user


def test_create_staff_reads_the_password_from_stdin(seeded):
    result = run(seeded, "Suzuki", "--role", "center", "--center", "central", "--center", "west")
    assert result.exit_code == 0, result.output
    assert "staff account suzuki (center: central, west) created" in result.output
    user = account(seeded, "suzuki")
    assert verify_password(user.password_hash, PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    [entry] = audit_entries(seeded, "staff_user.create")
    assert entry.detail == {"via": "cli", "role": "center"} and entry.username is None


@pytest.mark.parametrize("args, password, message", [
    (["x y", "--role", "admin"], PASSWORD, "A username is 2 to 64 characters"),
    (["sato", "--role", "center"], PASSWORD, "Center staff need at least one center."),
    (["sato", "--role", "department", "--department", "nowhere"], PASSWORD,
     "Unknown code: nowhere"),
    (["sato", "--role", "admin"], "short", "at least 12 characters"),
    (["sato", "--role", "boss"], PASSWORD, "Invalid value for '--role'"),
])
def test_create_staff_says_what_is_wrong(seeded, args, password, message):
    result = run(seeded, *args, password=password)
    assert result.exit_code != 0 and message in result.output


def test_existing_account_needs_reset_to_change(seeded):
    assert run(seeded, "admin", "--role", "admin").exit_code == 0
    result = run(seeded, "admin", "--role", "admin", password="another long password")
    assert result.exit_code == 1 and "already taken" in result.output
    result = run(seeded, "admin", "--role", "admin", "--reset", password="another long password")
    assert result.exit_code == 0 and "reset" in result.output
    assert verify_password(account(seeded, "admin").password_hash, "another long password")


def test_seed_fills_opening_hours_once_and_keeps_changes(app):
    with app.app_context(), db.transaction() as session:
        seed(session)
        center = session.scalars(select(Center).where(Center.code == "east")).one()
        assert center.opening_hours == OPENING_HOURS and center.hours_on("sun") is None
        center.opening_hours = {"mon": ["10:00", "12:00"]}
    with app.app_context(), db.transaction() as session:
        seed(session)
        center = session.scalars(select(Center).where(Center.code == "east")).one()
        assert center.opening_hours == {"mon": ["10:00", "12:00"]}
