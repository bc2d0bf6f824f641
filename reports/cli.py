"""`cityhall reports ...`: demo data and the categories."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from cityhall.city import current_city
from cityhall.db import db
from models import utcnow
from reports import demo, services
from reports.geo import load_boundary


@click.group("reports")
def reports_group() -> None:
    """Citizen reports."""


@reports_group.command("demo-data")
@with_appcontext
def demo_data() -> None:
    """Add fifty demo reports with drawn photos (once; needs `cityhall seed` first)."""
    now = utcnow()
    with db.transaction() as session:
        if not services.categories(session):
            raise click.ClickException("no departments yet: run `cityhall seed` first")
        added = demo.fill(session, now, load_boundary(current_app.config.get("CITYHALL_BOUNDARY")
                                                      or None), current_city().today(now).year)
    click.echo(f"added {added} demo reports" if added else "demo reports already present")


@reports_group.command("categories")
@with_appcontext
def list_categories() -> None:
    """Print one line per category: code, department id, target days, name."""
    with db.transaction() as session:
        for c in services.categories(session):
            click.echo(f"{c.code}\t{c.department_id}\t{c.target_days}\t{c.name_ja}")
