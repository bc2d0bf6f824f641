"""The rich-menu registry: the account's six areas, one menu per resident language (its image
drawn with Pillow in that language), installed idempotently. Features answer an area with
`Router.menu(key)`; an area no loaded feature answers says "coming soon" (bot.chat), never
nothing. Each language's menu has the alias `cityhall-<code>`; a resident is linked to their
language's menu when the language is set (`link_for`); Japanese is the default menu."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bot.gateway import LineError, LineGateway
from bot.postback import PostbackData
from cityhall.i18n import translate
from cityhall.languages import DEFAULT_LANGUAGE, resident_languages

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


def area_bounds(index: int) -> dict[str, int]:
    """Return the pixel box of the area at index (left to right, top to bottom)."""
    column, row = index % COLUMNS, index // COLUMNS
    left, right = WIDTH * column // COLUMNS, WIDTH * (column + 1) // COLUMNS
    top, bottom = HEIGHT * row // ROWS, HEIGHT * (row + 1) // ROWS
    return {"x": left, "y": top, "width": right - left, "height": bottom - top}


def menu_json(name: str, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Build one language's rich menu object: each area sends a postback the bot answers."""
    areas = [{"bounds": area_bounds(i),
              "action": {"type": "postback", "data": MenuTap(key).pack(),
                         "displayText": area_label(key, language),
                         "label": en if language == DEFAULT_LANGUAGE else area_label(key, language)}}
             for i, (key, _ja, en) in enumerate(MENU_AREAS)]
    bar = "メニュー / Menu" if language == DEFAULT_LANGUAGE else translate(language, MENU_WORD)
    return {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": name,
            "chatBarText": bar[:14], "areas": areas}


def alias_of(language: str) -> str:
    """The rich-menu alias of a language's menu (LINE: ^[a-z0-9_-]{1,32}$)."""
    return f"{NAME_PREFIX.split('-')[0]}-{language.lower()}"


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


def render_image(font_path: str | None = None, language: str = DEFAULT_LANGUAGE) -> bytes:
    """Draw the six areas: the label in the language large, a second one below (Japanese, or
    English under Japanese), on flat colours (PNG)."""
    second = "en" if language == DEFAULT_LANGUAGE else DEFAULT_LANGUAGE
    labels = [(area_label(key, language), area_label(key, second) if second != "en" else en)
              for key, _ja, en in MENU_AREAS]
    big_ref = font_for(language, "".join(big for big, _ in labels), font_path)
    small_ref = font_for(second, "".join(small for _, small in labels), font_path)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for i, (big_text, small_text) in enumerate(labels):
        box = area_bounds(i)
        big = fitted_font(draw, big_text, big_ref, 150, box["width"] - 80)
        small = fitted_font(draw, small_text, small_ref, 90, box["width"] - 80)
        x0, y0 = box["x"], box["y"]
        x1, y1 = x0 + box["width"], y0 + box["height"]
        draw.rectangle([x0 + 8, y0 + 8, x1 - 8, y1 - 8], fill=COLOURS[i], outline="white")
        centre = ((x0 + x1) // 2, (y0 + y1) // 2)
        draw.text((centre[0], centre[1] - 70), big_text, font=big, fill="white", anchor="mm")
        draw.text((centre[0], centre[1] + 110), small_text, font=small, fill="white", anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def install(line: LineGateway, font_path: str | None = None) -> tuple[str, bool]:
    """Create, upload and alias one menu per resident language; the Japanese one is the
    default. Identical menus are reused; older ones deleted. Return (default id, any new)."""
    ours = [m for m in line.list_rich_menus() if m.get("name", "").startswith(NAME_PREFIX)]
    kept: dict[str, str] = {}
    created_any = False
    for language in resident_languages():
        kept[language], created = _install_one(line, ours, language, font_path)
        created_any |= created
        line.set_rich_menu_alias(alias_of(language), kept[language])
    line.set_default_rich_menu(kept[DEFAULT_LANGUAGE])
    for old in ours:
        if old["richMenuId"] not in kept.values():
            line.delete_rich_menu(old["richMenuId"])
    return kept[DEFAULT_LANGUAGE], created_any


def _install_one(line: LineGateway, ours: list[dict[str, Any]], language: str,
                 font_path: str | None) -> tuple[str, bool]:
    png = render_image(font_path, language)
    digest = hashlib.sha256(json.dumps(menu_json("", language), sort_keys=True).encode() + png)
    tag = "" if language == DEFAULT_LANGUAGE else f"{language.lower()}-"
    name = f"{NAME_PREFIX}-{tag}{digest.hexdigest()[:12]}"
    same = next((m for m in ours if m["name"] == name), None)
    if same is not None and _usable(line, same["richMenuId"], language):
        return same["richMenuId"], False
    menu_id = line.create_rich_menu(menu_json(name, language))
    line.set_rich_menu_image(menu_id, png)
    return menu_id, True


def _usable(line: LineGateway, menu_id: str, language: str) -> bool:
    """Tell whether an existing menu can be used: its image was uploaded (an alias needs it)."""
    try:
        line.set_rich_menu_alias(alias_of(language), menu_id)
    except LineError as err:
        log.info("existing rich menu %s not reusable: %s", menu_id, err)
        return False
    return True


def link_for(line: LineGateway, user_id: str, language: str) -> None:
    """Show a resident their language's menu; without one installed, the default stays."""
    try:
        line.link_rich_menu(user_id, line.rich_menu_of_alias(alias_of(language)))
    except LineError as err:
        log.warning("rich menu of %s not linked for %s: %s", language, user_id, err)
