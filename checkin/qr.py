"""The QR code of a center: the LINE URL, a PNG of it, and a printable A4 poster (PDF)."""

from __future__ import annotations

import io
from urllib.parse import quote

import qrcode
from flask import current_app
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from models import Center

SCAN_WORD = "チェックイン"


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


def poster_pdf(center: Center, url: str, version: int) -> bytes:
    """Lay out the A4 poster: center name, instructions in Japanese and English, the code."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    # A standard Japanese font every PDF reader has: nothing to embed or install.
    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    pdf.setTitle(f"{center.name_ja} QR")
    _poster_text(pdf, center, width, height, mm)
    side = 120 * mm
    pdf.drawImage(ImageReader(qr_image(url, box_size=20)), (width - side) / 2, 75 * mm, side, side)
    pdf.setFont("Helvetica", 9)
    pdf.drawCentredString(width / 2, 20 * mm, f"{center.code} / v{version}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _poster_text(pdf, center: Center, width: float, height: float, mm: float) -> None:
    # Latin text in Helvetica: the Japanese font's Latin glyphs are spaced for full-width text.
    ja, en = "HeiseiKakuGo-W5", "Helvetica"
    lines = [(ja, 26, center.name_ja, 260), (en, 16, center.name_en, 247),
             (ja, 20, "LINEでQRコードを読み取って、送信するだけ", 220),
             (en, 13, "Scan this code with LINE and send the message to check in.", 210),
             (ja, 14, "帰るときも、もう一度読み取ってください", 62),
             (en, 11, "Scan again when you leave to check out.", 54)]
    for font, size, text, y in lines:
        pdf.setFont(font, size)
        pdf.drawCentredString(width / 2, y * mm, text)
