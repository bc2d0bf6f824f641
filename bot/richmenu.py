"""The rich-menu registry: the account's six areas, one menu per resident language (its image
drawn with Pillow in that language), installed idempotently. Features answer an area with
`Router.menu(key)`; an area no loaded feature answers says "coming soon" (bot.chat), never
nothing. Each language's menu has the alias `cityhall-<code>`; a resident is linked to their
language's menu when the language is set (`link_for`); Japanese is the default menu.

A feature may declare a `MenuVariant` (`Feature.menu_variants`): every language's menu once
more with one wide area on top (the disaster menu: "report damage"), the six areas below,
aliased `cityhall-<code>-<variant>`. While the variant's `active` test holds, `show` makes its
menus the ones residents see (the default, and bulk links per language), and `link_for` links
a resident whose language changes to that language's variant."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.gateway import LineError, LineGateway
from bot.postback import PostbackData
from cityhall.i18n import translate
from cityhall.languages import DEFAULT_LANGUAGE, resident_languages
from models import Resident

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when drawn or shown."""
    return message


# The areas drawn, in order: (key, Japanese label, English label, the msgid of every other
# language). The design fixes them; a feature that answers one (or a new key, reachable as a
# quick reply) needs no edit here.
MENU_AREAS = [("register", "登録", N_("Register")), ("checkin", "チェックイン", N_("Check in")),
              ("apply", "申し込み", N_("Apply")), ("events", "イベント", N_("Events")),
              ("report", "通報", N_("Report")), ("mydata", "マイデータ", N_("My data"))]
LABELS = {key: (ja, en) for key, ja, en in MENU_AREAS}
MENU_WORD = N_("Menu")


def area_label(key: str, language: str) -> str:
    """The area's label in a language (Japanese: the label drawn since the first menu)."""
    ja, en = LABELS[key]
    return ja if language == DEFAULT_LANGUAGE else translate(language, en)


@dataclass(frozen=True)
class MenuTap(PostbackData, prefix="bt.menu"):
    """A tap on a rich-menu area (or a quick reply that stands for one)."""

    area: str

WIDTH, HEIGHT = 2500, 1686
COLUMNS, ROWS = 3, 2
NAME_PREFIX = "cityhall-main"
COLOURS = ["#2E7D6B", "#F28C28", "#3A6EA5", "#C0504D", "#7E57C2", "#4F8A3C"]
# Tried in order when fontconfig cannot say; Debian's fonts-noto-cjk and fonts-ipafont.
KNOWN_FONTS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
               "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"]


BANNER_SHARE = 2  # a variant's wide area takes 1/BANNER_SHARE of the height


@dataclass(frozen=True)
class MenuVariant:
    """Every language's menu with one wide area on top that taps a feature's menu key."""

    name: str  # alias suffix, [a-z]: cityhall-<code>-<name>
    area: str  # the menu key the wide area taps (a feature answers it with Router.menu)
    label_ja: str
    label_en: str  # a msgid of the declaring feature's catalogue, for the other languages
    colour: str
    active: Callable[[Session], bool]  # whether residents should see it now

    def label(self, language: str) -> str:
        return self.label_ja if language == DEFAULT_LANGUAGE else translate(language,
                                                                          self.label_en)


def area_bounds(index: int, top: int = 0, height: int = HEIGHT) -> dict[str, int]:
    """Return the pixel box of the area at index (left to right, top to bottom) in the grid
    of six that fills `height` pixels from `top`."""
    column, row = index % COLUMNS, index // COLUMNS
    left, right = WIDTH * column // COLUMNS, WIDTH * (column + 1) // COLUMNS
    upper, lower = top + height * row // ROWS, top + height * (row + 1) // ROWS
    return {"x": left, "y": upper, "width": right - left, "height": lower - upper}


def banner_bounds() -> dict[str, int]:
    """The pixel box of a variant's wide area (the top of the menu)."""
    return {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT // BANNER_SHARE}


def grid_bounds(index: int, variant: MenuVariant | None) -> dict[str, int]:
    """The box of one of the six areas: the whole menu, or below a variant's wide area."""
    if variant is None:
        return area_bounds(index)
    top = banner_bounds()["height"]
    return area_bounds(index, top, HEIGHT - top)


def menu_json(name: str, language: str = DEFAULT_LANGUAGE,
              variant: MenuVariant | None = None) -> dict[str, Any]:
    """Build one language's rich menu object: each area sends a postback the bot answers."""
    areas = [{"bounds": grid_bounds(i, variant),
              "action": {"type": "postback", "data": MenuTap(key).pack(),
                         "displayText": area_label(key, language),
                         "label": en if language == DEFAULT_LANGUAGE else area_label(key, language)}}
             for i, (key, _ja, en) in enumerate(MENU_AREAS)]
    if variant is not None:
        label = variant.label(language)
        areas.insert(0, {"bounds": banner_bounds(),
                         "action": {"type": "postback", "data": MenuTap(variant.area).pack(),
                                    "displayText": label, "label": label[:20]}})
    bar = "メニュー / Menu" if language == DEFAULT_LANGUAGE else translate(language, MENU_WORD)
    return {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": name,
            "chatBarText": bar[:14], "areas": areas}


def alias_of(language: str, variant: str | None = None) -> str:
    """The rich-menu alias of a language's menu (LINE: ^[a-z0-9_-]{1,32}$), or its variant's."""
    base = f"{NAME_PREFIX.split('-')[0]}-{language.lower()}"
    return f"{base}-{variant}" if variant else base


def variants() -> list[MenuVariant]:
    """The menu variants the loaded features declare (none outside an app)."""
    from flask import has_app_context

    if not has_app_context():
        return []
    from cityhall.features import current

    return list(current().menu_variants.values())


def active_variant(session: Session) -> MenuVariant | None:
    """The variant residents should see now, if any (the first active one)."""
    return next((v for v in variants() if v.active(session)), None)


# The fontconfig language each resident language's script is matched with; Latin by default.
FONTCONFIG_LANG = {"ja": "ja", "ja-easy": "ja", "zh-Hans": "zh-cn", "zh-Hant": "zh-tw",
                   "ko": "ko", "ne": "ne", "vi": "vi"}
TOFU = "\uffff"


@dataclass(frozen=True)
class FontRef:
    """A font file and the face inside it (Noto CJK's .ttc holds JP, KR, SC, TC, HK)."""

    path: str
    index: int = 0


def find_cjk_font() -> str | None:
    """Return a font file with Japanese glyphs, or None."""
    found = _fc_match("ja")
    candidates = KNOWN_FONTS + ([found.path] if found and found.index == 0 else [])
    return next((path for path in candidates if Path(path).is_file()
                 and covers(FontRef(path), "登録")), None)


def _fc_match(fc_lang: str) -> FontRef | None:
    """Ask fontconfig for a bold face of a language's script."""
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}\t%{index}", f":lang={fc_lang}:style=Bold"],
                             capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = out.partition("\t")
    return FontRef(path, int(index or 0)) if path and Path(path).is_file() else None


def font_for(language: str, text: str, preferred: str | None = None) -> FontRef | None:
    """Return a font that draws every character of the text: the preferred file if it does,
    else fontconfig's choice for the language's script, else a known CJK font."""
    candidates = [FontRef(preferred)] if preferred else []
    found = _fc_match(FONTCONFIG_LANG.get(language, "en"))
    candidates += ([found] if found else []) + [FontRef(path) for path in KNOWN_FONTS]
    return next((ref for ref in candidates if Path(ref.path).is_file() and covers(ref, text)),
                None)


def covers(ref: FontRef, text: str) -> bool:
    """Tell whether the font has a glyph for every visible character of the text."""
    try:
        font = ImageFont.truetype(ref.path, 40, index=ref.index)
    except OSError:
        return False
    # A font without the glyph draws the same "tofu" box (or nothing) for every missing one.
    tofu = _glyph(font, TOFU)
    return all(_glyph(font, ch) != tofu for ch in set(text) if ch.isalnum())


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    image = Image.new("L", (64, 64))
    ImageDraw.Draw(image).text((8, 8), char, font=font, fill=255)
    return image.tobytes()


def load_font(ref: FontRef | str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Load a font, or Pillow's own font so the menu still renders without one."""
    if isinstance(ref, str):
        ref = FontRef(ref)
    if ref:
        try:
            return ImageFont.truetype(ref.path, size, index=ref.index)
        except OSError:
            log.warning("font %s not usable; using Pillow's default", ref.path)
    return ImageFont.load_default(size=size)


def fitted_font(draw: ImageDraw.ImageDraw, text: str, ref: FontRef | str | None, size: int,
                width: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return the font at the largest size up to `size` whose text fits the width."""
    font = load_font(ref, size)
    while size > 20 and draw.textlength(text, font=font) > width:
        size -= 10
        font = load_font(ref, size)
    return font


def render_image(font_path: str | None = None, language: str = DEFAULT_LANGUAGE,
                 variant: MenuVariant | None = None) -> bytes:
    """Draw the six areas: the label in the language large, a second one below (Japanese, or
    English under Japanese), on flat colours (PNG); a variant's wide area above them."""
    second = "en" if language == DEFAULT_LANGUAGE else DEFAULT_LANGUAGE
    labels = [(area_label(key, language), area_label(key, second) if second != "en" else en)
              for key, _ja, en in MENU_AREAS]
    boxes = [(grid_bounds(i, variant), COLOURS[i]) for i in range(len(labels))]
    if variant is not None:
        labels.insert(0, (variant.label(language), variant.label(second) if second != "en"
                          else variant.label_en))
        boxes.insert(0, (banner_bounds(), variant.colour))
    big_ref = font_for(language, "".join(big for big, _ in labels), font_path)
    small_ref = font_for(second, "".join(small for _, small in labels), font_path)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for (big_text, small_text), (box, colour) in zip(labels, boxes, strict=True):
        draw_area(draw, box, colour, (big_text, big_ref), (small_text, small_ref))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)  # optimize=True: 4x slower, 3% smaller
    return out.getvalue()


def draw_area(draw: ImageDraw.ImageDraw, box: dict[str, int], colour: str,
              big: tuple[str, FontRef | None], small: tuple[str, FontRef | None]) -> None:
    """Draw one area: a flat box, the big label above the small one (scaled to the box's
    height: a full-size area is 843 px high)."""
    scale = min(1.0, box["height"] / (HEIGHT // ROWS))
    x0, y0 = box["x"], box["y"]
    x1, y1 = x0 + box["width"], y0 + box["height"]
    draw.rectangle([x0 + 8, y0 + 8, x1 - 8, y1 - 8], fill=colour, outline="white")
    centre = ((x0 + x1) // 2, (y0 + y1) // 2)
    big_font = fitted_font(draw, big[0], big[1], int(150 * scale), box["width"] - 80)
    small_font = fitted_font(draw, small[0], small[1], int(90 * scale), box["width"] - 80)
    draw.text((centre[0], centre[1] - int(70 * scale)), big[0], font=big_font, fill="white",
              anchor="mm")
    draw.text((centre[0], centre[1] + int(110 * scale)), small[0], font=small_font,
              fill="white", anchor="mm")


def install(line: LineGateway, font_path: str | None = None,
            shown: MenuVariant | None = None) -> tuple[str, bool]:
    """Create, upload and alias one menu per resident language, and per language and variant;
    the Japanese one is the default (that of `shown`, the variant residents see now). Identical
    menus are reused; older ones deleted. Return (default id, any new)."""
    ours = [m for m in line.list_rich_menus() if m.get("name", "").startswith(NAME_PREFIX)]
    kept: dict[tuple[str, str | None], str] = {}
    created_any = False
    for variant in [None, *variants()]:
        name = variant.name if variant else None
        for language in resident_languages():
            kept[language, name], created = _install_one(line, ours, language, font_path,
                                                         variant)
            created_any |= created
            line.set_rich_menu_alias(alias_of(language, name), kept[language, name])
    default = kept[DEFAULT_LANGUAGE, shown.name if shown else None]
    line.set_default_rich_menu(default)
    for old in ours:
        if old["richMenuId"] not in kept.values():
            line.delete_rich_menu(old["richMenuId"])
    return default, created_any


def _install_one(line: LineGateway, ours: list[dict[str, Any]], language: str,
                 font_path: str | None, variant: MenuVariant | None) -> tuple[str, bool]:
    png = render_image(font_path, language, variant)
    digest = hashlib.sha256(json.dumps(menu_json("", language, variant), sort_keys=True)
                            .encode() + png)
    tag = "" if language == DEFAULT_LANGUAGE else f"{language.lower()}-"
    kind = f"{variant.name}-" if variant else ""
    name = f"{NAME_PREFIX}-{kind}{tag}{digest.hexdigest()[:12]}"
    same = next((m for m in ours if m["name"] == name), None)
    alias = alias_of(language, variant.name if variant else None)
    if same is not None and _usable(line, same["richMenuId"], alias):
        return same["richMenuId"], False
    menu_id = line.create_rich_menu(menu_json(name, language, variant))
    line.set_rich_menu_image(menu_id, png)
    return menu_id, True


def _usable(line: LineGateway, menu_id: str, alias: str) -> bool:
    """Tell whether an existing menu can be used: its image was uploaded (an alias needs it)."""
    try:
        line.set_rich_menu_alias(alias, menu_id)
    except LineError as err:
        log.info("existing rich menu %s not reusable: %s", menu_id, err)
        return False
    return True


def link_for(line: LineGateway, user_id: str, language: str,
             variant: MenuVariant | None = None) -> None:
    """Show a resident their language's menu (its variant's, if one is shown); without one
    installed, the language's normal menu, else the default stays."""
    aliases = [alias_of(language, variant.name)] if variant else []
    for alias in [*aliases, alias_of(language)]:
        try:
            line.link_rich_menu(user_id, line.rich_menu_of_alias(alias))
            return
        except LineError as err:
            log.warning("rich menu %s not linked for %s: %s", alias, user_id, err)


BULK_LINK_USERS = 500  # LINE's limit per bulk link request


def show(line: LineGateway, session: Session, variant: MenuVariant | None) -> int:
    """Make the variant's menus (None: the normal ones) those residents see: the Japanese one
    the default, and every resident with a language linked to that language's, 500 a call.
    Raise LineError when the variant's menus are not installed. Return the residents linked."""
    name = variant.name if variant else None
    line.set_default_rich_menu(line.rich_menu_of_alias(alias_of(DEFAULT_LANGUAGE, name)))
    linked = 0
    for language in session.scalars(select(Resident.language).distinct()
                                    .where(Resident.language.is_not(None))):
        try:
            menu_id = line.rich_menu_of_alias(alias_of(language, name))
        except LineError:  # a language without a menu of its own: the default's
            menu_id = line.rich_menu_of_alias(alias_of(DEFAULT_LANGUAGE, name))
        users = iter(session.scalars(select(Resident.line_user_id).where(
            Resident.language == language, Resident.blocked.is_(False))
            .order_by(Resident.id)).all())
        while chunk := list(islice(users, BULK_LINK_USERS)):
            line.link_rich_menu_bulk(chunk, menu_id)
            linked += len(chunk)
    return linked
