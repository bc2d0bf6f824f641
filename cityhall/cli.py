"""The `cityhall` command: a Flask CLI group built on the application factory."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import select

from cityhall import create_app

log = logging.getLogger(__name__)


def load_app():
    """Build the app for a command; a refused configuration is a one-line error, not a trace."""
    from flask.cli import NoAppException

    from cityhall.config import ConfigError

    try:
        return create_app()
    except ConfigError as err:
        raise NoAppException(str(err)) from None


class CityhallGroup(FlaskGroup):
    """The command group; a database that is missing or not migrated is a one-line error."""

    def invoke(self, ctx: click.Context):
        from cityhall.dberrors import missing_schema

        try:
            return super().invoke(ctx)
        except Exception as err:
            if not missing_schema(err):
                raise
            url = ctx.ensure_object(ScriptInfo).load_app().config["DATABASE_URL"]
            raise click.ClickException(no_schema_message(url)) from None


def no_schema_message(url: str) -> str:
    """Say which database has no schema and how to fix it, without a password."""
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    return (f"no database schema at {shown}: run `cityhall db upgrade` to create it, or set "
            "DATABASE_URL (or CITYHALL_INSTANCE_DIR, where the default SQLite file lives) "
            "to the database you meant")


@click.group(cls=CityhallGroup, create_app=load_app, add_version_option=False)
def main() -> None:
    """Smartphone City Hall."""


def parse_now(value: str | None) -> datetime:
    """Read --now as ISO 8601; a time without a zone is taken in the city's time zone."""
    if not value:
        return datetime.now(UTC)
    from zoneinfo import ZoneInfo

    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(current_app.config["CITYHALL_TIMEZONE"]))
    return parsed.astimezone(UTC)


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations."""
    import migrations

    migrations.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@main.command("seed")
@click.option("--demo", is_flag=True,
              help="Open the demo centers around the clock, every day (for `cityhall demo`).")
@with_appcontext
def seed_command(demo: bool) -> None:
    """Create the city's districts, the demo centers and the departments."""
    from cityhall.db import db
    from cityhall.seed import seed

    with db.transaction() as session:
        seed(session, demo=demo)
    click.echo("seeded districts, centers and departments"
               + (" (centers open around the clock)" if demo else ""))


@main.group("centers")
def centers_group() -> None:
    """Child-support centers."""


@centers_group.command("list")
@with_appcontext
def centers_list() -> None:
    """Print one line per center: code, tab, name."""
    from cityhall.db import db
    from models import Center

    with db.session() as session:
        for center in session.scalars(select(Center).order_by(Center.code)):
            click.echo(f"{center.code}\t{center.name_ja}")


@main.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Deliver the outbox to LINE."""
    from bot import worker
    from bot.gateway import gateway
    from cityhall.db import db

    factory = current_app.extensions["cityhall.db"][1]
    cfg = current_app.config
    if once:
        count = worker.drain(factory, gateway(), batch_size=cfg["OUTBOX_BATCH_SIZE"],
                             max_attempts=cfg["OUTBOX_MAX_ATTEMPTS"])
        click.echo(f"delivered or retried {count} outbox rows")
        return
    if db.engine.dialect.name == "sqlite":
        log.info("SQLite: run exactly one worker")
    from datetime import timedelta

    from bot.webhook import recover

    sender = worker.Sender(cfg["OUTBOX_CONCURRENCY"],
                           worker.Pacer(cfg["OUTBOX_PUSH_RATE"], cfg["OUTBOX_MULTICAST_RATE"]))
    stale = timedelta(seconds=cfg["WEBHOOK_RECOVER_AFTER_SECONDS"])
    # The worker also processes webhook events a web process recorded and then died on.
    worker.run_forever(factory, gateway(), batch_size=cfg["OUTBOX_BATCH_SIZE"],
                       max_attempts=cfg["OUTBOX_MAX_ATTEMPTS"],
                       poll_seconds=cfg["OUTBOX_POLL_SECONDS"], sender=sender,
                       sweep=lambda: recover(older_than=stale))


@main.command("clock")
@with_appcontext
def clock_command() -> None:
    """Run the scheduler (exactly one per deployment): it only schedules the jobs."""
    from cityhall.clock import run_clock

    run_clock(current_app._get_current_object())


@main.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs, by hand."""


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    """Print the registered jobs."""
    from cityhall.jobs import jobs

    for job in jobs().values():
        click.echo(f"{job.name}\t{job.trigger} {job.trigger_args}\t{job.description}")


@jobs_group.command("run")
@click.argument("name")
@click.option("--now", "now_text", help="ISO time to run as (default: now).")
@with_appcontext
def jobs_run(name: str, now_text: str | None) -> None:
    """Run one job now, as of --now."""
    from cityhall.jobs import jobs, run_job

    known = jobs()
    if name not in known:
        raise click.BadParameter(f"unknown job {name!r}; known: {', '.join(sorted(known))}")
    result = run_job(name, parse_now(now_text))
    click.echo(f"{name}: {result}")


@main.command("demo-data")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=2026, show_default=True,
              help="The same seed (with the same sizes and --now) gives the same data.")
@click.option("--households", type=click.IntRange(1, 100_000), default=300, show_default=True)
@click.option("--months", type=click.IntRange(1, 120), default=18, show_default=True,
              help="How far back visits and applications go.")
@click.option("--now", "now_text", help="ISO time the period ends at (default: now).")
@with_appcontext
def demo_data_command(seed: int, households: int, months: int, now_text: str | None) -> None:
    """Fill a fresh database with synthetic households, visits, applications and each
    feature's demo data; a second run adds nothing."""
    import time

    from cityhall.city import current_city
    from cityhall.db import db
    from cityhall.demodata import DemoDataError, load
    from cityhall.features import current

    started = time.perf_counter()
    try:
        with db.transaction() as session:
            outcome = load(session, current().features, now=parse_now(now_text),
                           city=current_city(), seed=seed, households=households, months=months)
    except DemoDataError as err:
        raise click.ClickException(str(err)) from None
    for line in outcome.notes:
        click.echo(line)
    if outcome.skipped:
        click.echo(f"already loaded before, left as they are: {', '.join(outcome.skipped)}")
    click.echo(f"demo data (synthetic) loaded for: {', '.join(outcome.loaded) or 'none'} "
               f"in {time.perf_counter() - started:.1f} s")


@main.command("demo", with_appcontext=False)  # it makes the secrets the app needs
@click.option("--port", default=5000, show_default=True)
@click.option("--emulator-port", default=8001, show_default=True)
def demo_command(port: int, emulator_port: int) -> None:
    """Start the app, the worker, the clock and the LINE emulator together; Ctrl-C stops all."""
    from cityhall.demo import run_demo

    sys.exit(run_demo(port, emulator_port))


from bot.cli import forms_group, richmenu_command, webhook_group  # noqa: E402  (the bot's)

@main.command("languages", with_appcontext=False)
def languages_command() -> None:
    """Print how complete each resident language is, per package (a Markdown table)."""
    from cityhall.catalogues import status
    from cityhall.features import load
    from cityhall.languages import resident_languages

    packages = [folder.parent.name for folder in load().translation_folders(residents=True)]
    rows = status(packages, list(resident_languages()))
    click.echo("| code | language | " + " | ".join(rows[0][2]) + " |")
    click.echo("| --- | --- | " + " | ".join("---:" for _ in rows[0][2]) + " |")
    for code, name, percents in rows:
        click.echo(f"| `{code}` | {name} | " + " | ".join(f"{p} %" for p in percents.values()) + " |")


main.add_command(forms_group)
main.add_command(richmenu_command)
main.add_command(webhook_group)
