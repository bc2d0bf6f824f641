"""`cityhall qr CENTER --format url|png|pdf [--out FILE]`: a center's check-in QR code;
`cityhall scan-targets [--post EMULATOR_URL]`: every center's poster text for the chat page."""

from __future__ import annotations

import json
import sys

import click
import requests
from flask.cli import with_appcontext
from sqlalchemy import select

from checkin import qr, services
from models import Center, utcnow


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
@with_appcontext
def scan_targets_command(emulator_url: str | None) -> None:
    """Print (as JSON) or post every center's current poster text as {label, text}."""
    from cityhall.db import db

    with db.transaction() as session:
        targets = [{"label": center.name_ja,
                    "text": qr.line_url(services.current_token(session, center, utcnow()))}
                   for center in session.scalars(select(Center).where(Center.active)
                                                   .order_by(Center.code))]
    if not emulator_url:
        click.echo(json.dumps(targets, ensure_ascii=False, indent=1))
        return
    try:
        response = requests.post(f"{emulator_url.rstrip('/')}/_emulator/scan-targets",
                                 json=targets, timeout=(2.0, 15.0))
    except requests.RequestException as err:
        raise click.ClickException(f"cannot reach the emulator at {emulator_url}: {err}") from err
    if response.status_code >= 400:
        raise click.ClickException(f"the emulator refused the scan targets: "
                                   f"{response.status_code} {response.text[:200]}")
    click.echo(f"posted {len(targets)} scan targets to {emulator_url}")
