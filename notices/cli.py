"""`cityhall notices preview|send|demo-reminders` (DESIGN.md's contract): the admin's notices.

    cityhall notices preview --segment '{"child_age_months": [0, 11]}'   # last line: residents
    cityhall notices send --title T --text 本文 --text-en Text [--title-en T] \
        --segment '{"all": true}' \
        [--at 2026-12-24T09:00] [--urgent] [--topic news]                # last line: the id

No approval here: the CLI is the admin's (approval applies in the staff web).
"""

from __future__ import annotations

import re
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from cityhall.city import current_city
from models import utcnow
from notices import reminders, segments, services
from notices.settings import NoticeSettings

TEXT_OPTION = re.compile(r"^--(text|title)-([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)(?:=(.*))?$",
                         re.S)


@click.group("notices")
def notices_group() -> None:
    """Preview a segment's reach and send notices."""


@notices_group.command("preview")
@click.option("--segment", "segment_json", required=True, help="The segment as JSON.")
@click.option("--topic", default=None, type=click.Choice(services.TOPICS),
              help="Leave out residents who stopped this topic.")
@with_appcontext
def preview_command(segment_json: str, topic: str | None) -> None:
    """Print the reach of a segment; the last line is the number of residents."""
    from cityhall.db import db

    with db.transaction() as session:
        try:
            segment = segments.parse(segment_json)
            segments.check_codes(session, segment)
        except segments.SegmentError as err:
            raise click.BadParameter(str(err), param_hint="--segment") from None
        found = segments.reach(session, segment, services.context(utcnow(), current_city()),
                               topic)
    click.echo(f"households: {found.households}")
    for code, n in found.districts:
        click.echo(f"district {code}: {n}")
    for band, n in found.ages:
        click.echo(f"children {band} months: {n}")
    for code, n in found.languages:
        click.echo(f"language {code}: {n}")
    click.echo(found.residents)


@notices_group.command("send", context_settings={"ignore_unknown_options": True,
                                                 "allow_extra_args": True})
@click.option("--title", required=True)
@click.option("--text", "text_ja", required=True, help="The Japanese text (required).")
@click.option("--segment", "segment_json", required=True, help="The segment as JSON.")
@click.option("--at", "at", default=None, help="When to send (ISO; city time unless it has an offset).")
@click.option("--urgent", is_flag=True, help="Send even in the quiet hours.")
@click.option("--topic", default="news", type=click.Choice(services.TOPICS), show_default=True)
@click.option("--link", "link_url", default=None, help="A link button's URL.")
@click.pass_context
@with_appcontext
def send_command(ctx: click.Context, title: str, text_ja: str, segment_json: str,
                 at: str | None, urgent: bool, topic: str, link_url: str | None) -> None:
    """Queue a notice (--text-vi TEXT, --title-vi TITLE etc. add languages); the last line is
    its id. A resident whose language has no text gets the Japanese one."""
    from cityhall.db import db

    extra = extra_options(ctx.args)
    bodies = {"ja": text_ja, **extra["text"]}
    city, now = current_city(), utcnow()
    send_at = parse_at(at, city) if at else None
    if send_at is not None and send_at < now:
        raise click.BadParameter("that time has passed", param_hint="--at")
    with db.transaction() as session:
        try:
            notice = services.new_notice(session, title=title, titles=extra["title"],
                                         bodies=bodies, segment=segment_json, topic=topic, now=now,
                                         kind="cli", urgent=urgent, send_at=send_at,
                                         link_url=link_url)
            outcome = services.release(session, notice, now, city,
                                       NoticeSettings.from_config(current_app.config))
        except services.NoticeError as err:
            raise click.ClickException(str(err)) from None
        if outcome == "scheduled":
            click.echo(f"scheduled for {city.local(notice.send_at).isoformat()}")
        else:
            click.echo(f"queued for {notice.targeted_residents} residents")
        notice_id = notice.id
    click.echo(notice_id)


@notices_group.command("demo-reminders")
@with_appcontext
def demo_reminders_command() -> None:
    """Add the six demo age reminders (notices/demo/reminders.json); the last line: how many."""
    from cityhall.db import db

    with db.transaction() as session:
        added = reminders.load_demo(session)
    click.echo(added)


def extra_options(args: list[str]) -> dict[str, dict[str, str]]:
    """Read `--text-LANG TEXT` and `--title-LANG TITLE` (or `=VALUE`) from the extra arguments."""
    found: dict[str, dict[str, str]] = {"text": {}, "title": {}}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        match = TEXT_OPTION.match(arg)
        if not match:
            raise click.UsageError(f"unexpected argument {arg!r} (languages go as --text-en TEXT "
                                   f"and --title-en TITLE)")
        value = match.group(3)
        if value is None:
            if not rest:
                raise click.UsageError(f"{arg} needs a value")
            value = rest.pop(0)
        found[match.group(1)][match.group(2)] = value
    return found


def parse_at(text: str, city) -> datetime:
    """Read an ISO time; without an offset it is the city's local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not an ISO date and time: {text!r}", param_hint="--at") from None
    return moment.replace(tzinfo=city.zone) if moment.tzinfo is None else moment
