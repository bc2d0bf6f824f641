"""`cityhall webhook failed|replay`: the dead letter of webhook events, from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

webhook_group = AppGroup("webhook", help="Webhook events whose handler failed for good.")

OUTCOME_TEXT = {
    "done": "replayed; replies queued for push",
    "duplicate": "already processed; removed from the failed list",
    "failed": "failed again; kept with the new error",
    "lost": "failed again and could not be kept (see the log)",
}


@webhook_group.command("failed")
def failed_command() -> None:
    """Print one line per failed event: id, type, error (tab-separated)."""
    from bot import deadletter
    from cityhall.db import db

    with db.session() as session:
        for row in deadletter.listing(session):
            click.echo(f"{row.id}\t{row.event_type}\t{' '.join(row.error.split())}")


@webhook_group.command("replay")
@click.argument("failed_id", metavar="ID", type=int, required=False)
@click.option("--all", "replay_all", is_flag=True, help="Replay every failed event, oldest first.")
def replay_command(failed_id: int | None, replay_all: bool) -> None:
    """Process failed events again; their replies go by push (the reply token has expired)."""
    from bot import deadletter
    from bot.webhook import replay
    from cityhall.db import db

    if (failed_id is None) == (not replay_all):
        raise click.UsageError("give one ID or --all")
    if replay_all:
        with db.session() as session:
            targets = deadletter.ids(session)
        if not targets:
            click.echo("no failed events")
            return
    else:
        targets = [failed_id]
    failures = 0
    for target in targets:
        try:
            outcome = replay(target)
        except LookupError as exc:
            if replay_all:  # replayed by someone else since the list was read
                click.echo(f"{target}\talready replayed")
                continue
            raise click.ClickException(str(exc)) from exc
        failures += outcome in ("failed", "lost")
        click.echo(f"{target}\t{OUTCOME_TEXT[outcome]}")
    if failures:
        raise click.ClickException(f"{failures} event(s) failed again")
