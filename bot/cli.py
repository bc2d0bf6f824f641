"""The bot's own commands: `cityhall forms list|show|check`, `cityhall richmenu` and
`cityhall webhook failed|replay|recover` (the dead letter of webhook events and events
recorded but never processed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from bot.flows.registry import check_file, forms
from bot.flows.schema import FormError, missing_translations


@click.group("forms")
def forms_group() -> None:
    """Forms declared as data (each feature's forms/*.yaml)."""


@forms_group.command("list")
def forms_list() -> None:
    """Print one line per form: id, tab, fields, tab, title."""
    for form in forms().all():
        click.echo(f"{form.id}\t{len(form.fields)}\t{form.title['ja']} / {form.title['en']}")


@forms_group.command("show")
@click.argument("form_id")
@click.option("--json", "as_json", is_flag=True, help="Print the definition as JSON.")
def forms_show(form_id: str, as_json: bool) -> None:
    """Print one form's definition."""
    form = forms().get(form_id)
    if form is None:
        raise click.BadParameter(f"unknown form {form_id!r}; known: "
                                 f"{', '.join(f.id for f in forms().all())}")
    if as_json:
        click.echo(json.dumps(form.raw, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{form.id}: {form.title['ja']} / {form.title['en']} ({form.source})")
    for field in form.fields:
        flags = "" if field.required else " (optional)"
        click.echo(f"  {field.id}\t{field.type}{flags}\t{field.label['ja']}")


@forms_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def forms_check(path: Path) -> None:
    """Check a form file without starting the app; exit 1 naming the file and field if wrong."""
    try:
        form = check_file(path)
    except FormError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    from cityhall.languages import resident_languages

    for code, places in missing_translations(form, list(resident_languages())).items():
        shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        click.echo(f"warning: {path}: no {code} text for {shown} (Japanese is shown)", err=True)
    click.echo(f"ok: {form.id} ({len(form.fields)} fields)")


@click.command("richmenu")
@click.option("--font", type=click.Path(dir_okay=False), help="Font file with Japanese glyphs.")
@click.option("--image", "image_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the menu image to this PNG file.")
@with_appcontext
def richmenu_command(font: str | None, image_out: Path | None) -> None:
    """Create the rich menus (one per language, and per language and variant such as the
    disaster menu), upload their images and set the default (idempotent)."""
    from bot import richmenu
    from bot.gateway import gateway

    font = font or richmenu.find_cjk_font()
    if font is None:
        click.echo("warning: no Japanese font found (install fonts-noto-cjk); labels may not "
                   "render", err=True)
    if image_out:
        image_out.write_bytes(richmenu.render_image(font))
    from cityhall.db import db

    with db.session() as session:
        shown = richmenu.active_variant(session)  # e.g. disaster mode's menu while it is on
    menu_id, created = richmenu.install(gateway(), font, shown)
    click.echo(f"rich menu {menu_id} {'created and set' if created else 'already set'} as default"
               + (f" ({shown.name} menu shown)" if shown else ""))


webhook_group = AppGroup(
    "webhook", help="Webhook events whose handler failed for good, or that a crash left pending.")

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


@webhook_group.command("recover")
@click.option("--older-than", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Only events pending this long (default WEBHOOK_RECOVER_AFTER_SECONDS).")
def recover_command(older_than: float | None) -> None:
    """Process events recorded before a 200 but never processed (a crash); print the outcomes."""
    from datetime import timedelta

    from flask import current_app

    from bot.webhook import recover

    seconds = (current_app.config["WEBHOOK_RECOVER_AFTER_SECONDS"] if older_than is None
               else older_than)
    total: dict[str, int] = {}
    while True:
        outcomes = recover(older_than=timedelta(seconds=seconds))
        for outcome, n in outcomes.items():
            total[outcome] = total.get(outcome, 0) + n
        if not outcomes or set(outcomes) <= {"lost"}:
            break  # nothing left, or only events that cannot be stored (see the log)
    if not total:
        click.echo("no pending events")
        return
    click.echo(", ".join(f"{n} {outcome}" for outcome, n in sorted(total.items())))


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
