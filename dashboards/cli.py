"""`cityhall aggregate [--full] [--now ISO]`: bring the dashboards' rollups up to date by hand."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("aggregate")
@click.option("--full", is_flag=True, help="Rebuild every rollup from all visits.")
@click.option("--now", "now_text", help="ISO time to run as (default: now).")
@with_appcontext
def aggregate_command(full: bool, now_text: str | None) -> None:
    """Aggregate visits into the dashboards' rollups (incremental unless --full)."""
    from cityhall.city import current_city
    from cityhall.cli import parse_now
    from cityhall.db import db
    from dashboards import aggregate

    with db.transaction() as session:
        run = aggregate.rebuild if full else aggregate.aggregate
        result = run(session, parse_now(now_text), city=current_city())
    click.echo(str(result))
