"""The QR code of a center: the LINE URL, a PNG of it, and a printable A4 poster (PDF)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import qrcode
from flask import current_app
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from models import Center

SCAN_WORD = "チェックイン"
POSTER_FONT = "CityhallPosterGothic"
# Debian's fonts-ipafont-gothic; the proportional face first, as its Latin is not full-width.
KNOWN_FONTS = ("/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
               "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
               "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf")


class PosterFontMissing(RuntimeError):
    """No Japanese TrueType font to embed in the poster; the message says how to get one."""


def scan_text(token: str) -> str:
    """Return what the resident's LINE sends: short, readable, and the token."""
    return f"{SCAN_WORD} {token}"


def line_url(token: str) -> str:
    """Return the URL that opens the chat with the check-in text ready to send."""
    basic_id = quote(current_app.config["LINE_BOT_BASIC_ID"], safe="@")
    return f"https://line.me/R/oaMessage/{basic_id}/?{quote(scan_text(token), safe='')}"


def qr_image(url: str, box_size: int = 10) -> Image.Image:
    """Draw the QR code of a URL (error correction M: a poster may get scuffed)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def qr_png(url: str, box_size: int = 10) -> bytes:
    """Return the QR code of a URL as PNG bytes."""
    buffer = io.BytesIO()
    qr_image(url, box_size).save(buffer, format="PNG")
    return buffer.getvalue()


def poster_font_path() -> Path:
    """Find the Japanese TrueType font to embed: CITYHALL_POSTER_FONT, Debian's IPA, fontconfig."""
    configured = current_app.config.get("CITYHALL_POSTER_FONT")
    if configured:
        if Path(configured).is_file():
            return Path(configured)
        raise PosterFontMissing(f"CITYHALL_POSTER_FONT is not a file: {configured}")
    for known in KNOWN_FONTS:
        if Path(known).is_file():
            return Path(known)
    found = _fontconfig_japanese_ttf()
    if found:
        return found
    raise PosterFontMissing("no Japanese TrueType font for the QR poster: install "
                            "fonts-ipafont-gothic or set CITYHALL_POSTER_FONT to a .ttf file")


def _fontconfig_japanese_ttf() -> Path | None:
    # Only single-face .ttf files: reportlab embeds those directly.
    if not shutil.which("fc-list"):
        return None
    done = subprocess.run(["fc-list", ":lang=ja:fontformat=TrueType", "file"],
                          capture_output=True, text=True, timeout=10, check=False)
    files = sorted(line.rstrip(": ") for line in done.stdout.splitlines())
    return next((Path(f) for f in files if f.lower().endswith(".ttf")), None)


def poster_pdf(center: Center, url: str, version: int) -> bytes:
    """Lay out the A4 poster: center name, instructions in Japanese and English, the code.

    Every glyph comes from one embedded (subset) TrueType font, so the poster prints the
    same everywhere; a reader's stand-in for a non-embedded font may lack the kana.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont(POSTER_FONT, str(poster_font_path())))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, initialFontName=POSTER_FONT)
    width, height = A4
    pdf.setTitle(f"{center.name_ja} QR")
    _poster_text(pdf, center, width, height, mm)
    side = 120 * mm
    pdf.drawImage(ImageReader(qr_image(url, box_size=20)), (width - side) / 2, 75 * mm, side, side)
    pdf.setFont(POSTER_FONT, 9)
    pdf.drawCentredString(width / 2, 20 * mm, f"{center.code} / v{version}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _poster_text(pdf, center: Center, width: float, height: float, mm: float) -> None:
    lines = [(26, center.name_ja, 260), (16, center.name_en, 247),
             (20, "LINEでQRコードを読み取って、送信するだけ", 220),
             (13, "Scan this code with LINE and send the message to check in.", 210),
             (14, "帰るときも、もう一度読み取ってください", 62),
             (11, "Scan again when you leave to check out.", 54)]
    for size, text, y in lines:
        pdf.setFont(POSTER_FONT, size)
        pdf.drawCentredString(width / 2, y * mm, text)
