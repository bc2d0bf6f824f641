"""`cityhall events create|list`: events from the command line (the contract in docs/design.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from cityhall.city import current_city
from events import services
from models import Center, utcnow
from models.event import Event


def parse_moment(text: str | None, name: str) -> datetime | None:
    """Read an ISO date-time; without a zone it is the city's local time."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise click.BadParameter(f"{text!r} is not an ISO date-time like 2026-12-03T10:00",
                                 param_hint=name) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=current_city().zone)
    return moment.astimezone(UTC)


@click.group("events")
def events_group() -> None:
    """Events at the centers: create, list."""


@events_group.command("create")
@click.option("--center", "center_code", required=True, help="The organising center's code.")
@click.option("--title", required=True)
@click.option("--starts", required=True, help="ISO date-time (local time when no zone).")
@click.option("--ends", required=True, help="ISO date-time (local time when no zone).")
@click.option("--capacity", required=True, type=click.IntRange(min=1))
@click.option("--unit", type=click.Choice(services.UNITS), required=True)
@click.option("--min-age-months", type=click.IntRange(min=0), default=None)
@click.option("--max-age-months", type=click.IntRange(min=0), default=None)
@click.option("--opens", default=None, help="When booking opens (default: now).")
@click.option("--closes", default=None, help="When booking closes (default: the start).")
@with_appcontext
def create_command(center_code: str, title: str, starts: str, ends: str, capacity: int,
                   unit: str, min_age_months: int | None, max_age_months: int | None,
                   opens: str | None, closes: str | None) -> None:
    """Create an event; print its id as the last line."""
    from cityhall.db import db

    values = {"title_ja": title, "starts_at": parse_moment(starts, "--starts"),
              "ends_at": parse_moment(ends, "--ends"), "capacity": capacity, "unit": unit,
              "min_age_months": min_age_months, "max_age_months": max_age_months,
              "opens_at": parse_moment(opens, "--opens"),
              "closes_at": parse_moment(closes, "--closes")}
    with db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == center_code)).first()
        if center is None:
            raise click.BadParameter(f"unknown center {center_code!r}", param_hint="--center")
        values["center_id"] = center.id
        try:
            [event] = services.create_events(session, values, utcnow())
        except ValueError as err:
            raise click.UsageError(str(err)) from err
        click.echo(event.id)


@events_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@with_appcontext
def list_command(as_json: bool) -> None:
    """List events, soonest first: id, title, start, capacity, reserved, waiting."""
    from cityhall.db import db

    with db.transaction() as session:
        rows = [services.summary(session, e)
                for e in session.scalars(select(Event).order_by(Event.starts_at, Event.id))]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['id']}\t{row['starts']}\t{row['title']}\t{row['reserved']}/"
                   f"{row['capacity']} {row['unit']}\twaiting {row['waiting']}")
