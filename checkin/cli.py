"""`cityhall qr CENTER --format url|png|pdf [--out FILE]`: a center's check-in QR code."""

from __future__ import annotations

import sys

import click
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
