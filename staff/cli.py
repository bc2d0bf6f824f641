"""`cityhall create-staff`: add a staff account from the server's shell."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from models.staff import StaffRole


def read_password() -> str:
    """Ask twice on a terminal; read one line from stdin when piped."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.command("create-staff")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in StaffRole]))
@click.option("--center", "centers", multiple=True, metavar="CODE",
              help="A center the account works for (repeat for more).")
@click.option("--department", "departments", multiple=True, metavar="CODE",
              help="A department the account works for (repeat for more).")
@click.option("--name", "display_name", default="", help="Name shown on screens.")
@click.option("--reset", is_flag=True,
              help="If the account exists, set its password, role and scopes instead of failing.")
@with_appcontext
def create_staff(username: str, role: str, centers: tuple[str, ...],
                 departments: tuple[str, ...], display_name: str, reset: bool) -> None:
    """Add a staff account (password from a prompt, or from stdin when piped).

    An account whose role needs a second factor (admins, see STAFF_SECOND_FACTOR_ROLES) gets
    a new TOTP secret, printed last as `totp-secret: BASE32`, and recovery codes.
    """
    from cityhall.db import db
    from staff.errors import StaffError

    password = read_password()
    try:
        with db.transaction() as session:
            user, created = _save(session, username, password, StaffRole(role), centers,
                                  departments, display_name, reset)
            required = user.role.value in current_app.config["STAFF_SECOND_FACTOR_ROLES"]
            codes = _issue_second_factor(session, user) if required else None
    except StaffError as err:
        raise click.ClickException(str(err)) from None
    # Sorted: a relationship's rows come back in no set order (PostgreSQL varies).
    scope = ", ".join(sorted(c.code for c in user.centers)
                      + sorted(d.code for d in user.departments))
    click.echo(f"staff account {user.username} ({user.role.value}{': ' + scope if scope else ''})"
               f" {'created' if created else 'reset'}")
    if codes is not None:
        click.echo("recovery codes (each works once; keep them safe): " + " ".join(codes))
        # The contract: the secret is the last line, for scripts and the demo's banner.
        click.echo(f"totp-secret: {user.totp_secret}")


def _issue_second_factor(session, user) -> list[str]:
    """Give the account a new TOTP secret and recovery codes (the old ones stop working)."""
    from models.base import utcnow
    from staff import audit, second_factor

    now = utcnow()
    second_factor.remove(session, user)
    second_factor.enable(user, second_factor.new_secret(), now)
    audit.record(session, "staff_user.two_factor_enrolled", target=f"staff:{user.username}",
                 detail={"at": "cli"})
    return second_factor.new_recovery_codes(session, user, now)


def _save(session, username, password, role, centers, departments, display_name, reset):
    from staff import audit
    from staff.accounts import (create_account, find_by_username, normalize_username,
                                set_disabled, set_password, set_scopes)

    min_length = current_app.config["STAFF_PASSWORD_MIN_LENGTH"]
    user = find_by_username(session, normalize_username(username)) if reset else None
    if user is None:
        user = create_account(session, username, password, role, center_codes=centers,
                              department_codes=departments, display_name=display_name,
                              min_length=min_length)
        audit.record(session, "staff_user.create", target=f"staff:{user.username}",
                     detail={"via": "cli", "role": role.value})
        return user, True
    set_password(session, user, password, min_length)
    set_scopes(session, user, role, centers, departments)
    set_disabled(session, user, False)
    if display_name:
        user.display_name = display_name
    audit.record(session, "staff_user.reset", target=f"staff:{user.username}",
                 detail={"via": "cli", "role": role.value})
    return user, False
