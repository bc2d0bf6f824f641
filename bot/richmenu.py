"""The rich-menu registry: the account's six areas, an image drawn with Pillow, installed
idempotently. Features answer an area with `Router.menu(key)`; an area no loaded feature
answers says "coming soon" (bot.chat), never nothing."""

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

log = logging.getLogger(__name__)

# The areas drawn, in order: (key, Japanese label, English label). The design fixes them;
# a feature that answers one (or a new key, reachable as a quick reply) needs no edit here.
MENU_AREAS = [("register", "登録", "Register"), ("checkin", "チェックイン", "Check in"),
              ("apply", "申し込み", "Apply"), ("events", "イベント", "Events"),
              ("report", "通報", "Report"), ("mydata", "マイデータ", "My data")]
LABELS = {key: (ja, en) for key, ja, en in MENU_AREAS}


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


def menu_json(name: str) -> dict[str, Any]:
    """Build the rich menu object: each area sends a postback the bot answers."""
    areas = [{"bounds": area_bounds(i),
              "action": {"type": "postback", "data": MenuTap(key).pack(),
                         "displayText": ja, "label": en}}
             for i, (key, ja, en) in enumerate(MENU_AREAS)]
    return {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": name,
            "chatBarText": "メニュー / Menu", "areas": areas}


def find_cjk_font() -> str | None:
    """Return a font file with Japanese glyphs, or None."""
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=ja"], capture_output=True,
                               text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    candidates = KNOWN_FONTS + ([found] if found else [])
    return next((path for path in candidates if Path(path).is_file()
                 and _has_japanese(path)), None)


def _has_japanese(path: str) -> bool:
    try:
        font = ImageFont.truetype(path, 40)
    except OSError:
        return False
    # A font without the glyph draws the same "tofu" box for every missing character.
    return font.getmask("登").getbbox() != font.getmask("\uffff").getbbox()


def load_font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Load the CJK font, or Pillow's own font so the menu still renders without one."""
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            log.warning("font %s not usable; using Pillow's default", path)
    return ImageFont.load_default(size=size)


def fitted_font(draw: ImageDraw.ImageDraw, text: str, path: str | None, size: int,
                width: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return the font at the largest size up to `size` whose text fits the width."""
    font = load_font(path, size)
    while size > 20 and draw.textlength(text, font=font) > width:
        size -= 10
        font = load_font(path, size)
    return font


def render_image(font_path: str | None = None) -> bytes:
    """Draw the six areas: Japanese label large, English below, on flat colours (PNG)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for i, (_key, ja, en) in enumerate(MENU_AREAS):
        box = area_bounds(i)
        big = fitted_font(draw, ja, font_path, 150, box["width"] - 80)
        small = fitted_font(draw, en, font_path, 90, box["width"] - 80)
        x0, y0 = box["x"], box["y"]
        x1, y1 = x0 + box["width"], y0 + box["height"]
        draw.rectangle([x0 + 8, y0 + 8, x1 - 8, y1 - 8], fill=COLOURS[i], outline="white")
        centre = ((x0 + x1) // 2, (y0 + y1) // 2)
        draw.text((centre[0], centre[1] - 70), ja, font=big, fill="white", anchor="mm")
        draw.text((centre[0], centre[1] + 110), en, font=small, fill="white", anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def install(line: LineGateway, font_path: str | None = None) -> tuple[str, bool]:
    """Create, upload and set the default rich menu; reuse an identical one. Return (id, new)."""
    png = render_image(font_path)
    digest = hashlib.sha256(json.dumps(menu_json(""), sort_keys=True).encode() + png)
    name = f"{NAME_PREFIX}-{digest.hexdigest()[:12]}"
    ours = [m for m in line.list_rich_menus() if m.get("name", "").startswith(NAME_PREFIX)]
    same = next((m for m in ours if m["name"] == name), None)
    if same is not None and _try_default(line, same["richMenuId"]):
        menu_id, created = same["richMenuId"], False
    else:
        menu_id, created = line.create_rich_menu(menu_json(name)), True
        line.set_rich_menu_image(menu_id, png)
        line.set_default_rich_menu(menu_id)
    for old in ours:
        if old["richMenuId"] != menu_id:
            line.delete_rich_menu(old["richMenuId"])
    return menu_id, created


def _try_default(line: LineGateway, menu_id: str) -> bool:
    """Make an existing menu the default; False if it cannot be (no image was uploaded)."""
    try:
        line.set_default_rich_menu(menu_id)
    except LineError as err:
        log.info("existing rich menu %s not reusable: %s", menu_id, err)
        return False
    return True
