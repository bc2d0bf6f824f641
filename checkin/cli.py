"""`cityhall qr CENTER --format url|png|pdf [--out FILE]`: a center's check-in QR code;
`cityhall scan-targets [--post EMULATOR_URL [--follow]]`: every center's current code (poster
or kiosk screen) for the chat page's scan menu."""

from __future__ import annotations

import json
import sys
import time

import click
import requests
from flask.cli import with_appcontext
from sqlalchemy import select

from checkin import qr, services, tokens
from models import Center, utcnow
from models.center import CheckinMode


@click.command("qr")
@click.argument("center_code")
@click.option("--format", "kind", type=click.Choice(["url", "png", "pdf"]), default="url",
              show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="File to write (default: standard output).")
@with_appcontext
def qr_command(center_code: str, kind: str, out: str | None) -> None:
    """Print a center's check-in URL, or write its QR code as PNG or an A4 poster PDF."""
    from cityhall.db import db

    with db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == center_code)).first()
        if center is None:
            raise click.BadParameter(f"unknown center {center_code!r}", param_hint="CENTER")
        version = services.poster_version(session, center)
        url = qr.line_url(services.current_token(session, center, utcnow()))
        data = render(center, url, version, kind)
    write(data, out)


def render(center: Center, url: str, version: int, kind: str) -> bytes:
    """Return the URL (a line of text), the PNG, or the poster PDF."""
    if kind == "png":
        return qr.qr_png(url)
    if kind == "pdf":
        try:
            return qr.poster_pdf(center, url, version)
        except qr.PosterFontMissing as err:
            raise click.ClickException(str(err)) from None
    return (url + "\n").encode()


def write(data: bytes, out: str | None) -> None:
    """Write to the file, or to standard output."""
    if out:
        with open(out, "wb") as f:
            f.write(data)
        click.echo(f"wrote {out}", err=True)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@click.command("scan-targets")
@click.option("--post", "emulator_url", metavar="EMULATOR_URL",
              help="Post them to this LINE emulator's scan menu instead of printing them.")
@click.option("--follow", is_flag=True,
              help="With --post: post again every half kiosk window (kiosk codes rotate), "
                   "until stopped.")
@with_appcontext
def scan_targets_command(emulator_url: str | None, follow: bool) -> None:
    """Print (as JSON) or post the code every active center accepts now, as {id, label, text}.

    A poster center's code is its printed poster's; a kiosk center's is the kiosk screen's
    code of this time window, valid for this window and the next, so `--follow` re-posts it
    before it expires.
    """
    if follow and not emulator_url:
        raise click.UsageError("--follow needs --post EMULATOR_URL")
    if not emulator_url:
        click.echo(json.dumps(current_targets(), ensure_ascii=False, indent=1))
        return
    post_targets(emulator_url)
    while follow:
        time.sleep(tokens.KIOSK_WINDOW_SECONDS / 2)
        try:
            post_targets(emulator_url, quiet=True)
        except click.ClickException as err:  # the emulator restarting: try again next time
            click.echo(f"scan-targets: {err.message}", err=True)


def current_targets() -> list[dict[str, str]]:
    """Return the scan menu's entries: one per active center, for the code its mode accepts."""
    from cityhall.db import db

    now = utcnow()
    with db.transaction() as session:
        return [target(center, qr.line_url(services.current_token(session, center, now)))
                for center in session.scalars(select(Center).where(Center.active)
                                              .order_by(Center.code))]


def target(center: Center, url: str) -> dict[str, str]:
    """Name a center's code for the scan menu: the poster, or the kiosk screen."""
    if center.checkin_mode == CheckinMode.KIOSK:
        return {"id": f"{center.code}-kiosk", "label": f"{center.name_ja}（キオスク画面）",
                "text": url}
    return {"id": f"{center.code}-poster", "label": f"{center.name_ja}（ポスター）", "text": url}


def post_targets(emulator_url: str, quiet: bool = False) -> None:
    """Replace the emulator's scan menu with the current codes."""
    targets = current_targets()
    try:
        response = requests.post(f"{emulator_url.rstrip('/')}/_emulator/scan-targets",
                                 json=targets, timeout=(2.0, 15.0))
    except requests.RequestException as err:
        raise click.ClickException(f"cannot reach the emulator at {emulator_url}: {err}") from err
    if response.status_code >= 400:
        raise click.ClickException(f"the emulator refused the scan targets: "
                                   f"{response.status_code} {response.text[:200]}")
    if not quiet:
        click.echo(f"posted {len(targets)} scan targets to {emulator_url}")
