"""`cityhall forms list|show|check` and `cityhall richmenu`: the bot's own commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from bot.flows.registry import check_file, forms
from bot.flows.schema import FormError


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
    click.echo(f"ok: {form.id} ({len(form.fields)} fields)")


@click.command("richmenu")
@click.option("--font", type=click.Path(dir_okay=False), help="Font file with Japanese glyphs.")
@click.option("--image", "image_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the menu image to this PNG file.")
@with_appcontext
def richmenu_command(font: str | None, image_out: Path | None) -> None:
    """Create the rich menu, upload its image and make it the default (idempotent)."""
    from bot import richmenu
    from bot.gateway import gateway

    font = font or richmenu.find_cjk_font()
    if font is None:
        click.echo("warning: no Japanese font found (install fonts-noto-cjk); labels may not "
                   "render", err=True)
    if image_out:
        image_out.write_bytes(richmenu.render_image(font))
    menu_id, created = richmenu.install(gateway(), font)
    click.echo(f"rich menu {menu_id} {'created and set' if created else 'already set'} as default")

