"""The chat page, and QR scanning as the LINE app does it."""
from __future__ import annotations

import base64
import binascii
import io
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import zxingcpp
from flask import Blueprint, Response, jsonify, render_template, request
from PIL import Image, UnidentifiedImageError

from . import events
from .control import bad_request, send, user_from
from .core import platform

bp = Blueprint("line_emulator_chat", __name__, template_folder="templates",
               static_folder="static", static_url_path="/_emulator/static")

FETCH_TIMEOUT = 5.0


@bp.get("/chat")
def chat_page() -> str:
    """Render the chat page."""
    return render_template("chat.html")


def decode_qr(image_bytes: bytes) -> list[str]:
    """Return the texts of the barcodes found in an image."""
    image = Image.open(io.BytesIO(image_bytes))
    image.load()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image.convert("RGB"))]


def oa_message_text(url: str) -> tuple[str, str] | None:
    """Return (basic id, text) of a line.me/R/oaMessage URL, or None for other content."""
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    if parts.netloc != "line.me" or segments[:2] != ["R", "oaMessage"] or len(segments) < 3:
        return None
    return unquote(segments[2]), unquote(parts.query)


def scanned_image() -> bytes:
    """Return the image to scan: an upload, base64 in JSON, or fetched from a URL."""
    upload = request.files.get("image")
    if upload is not None:
        return upload.read()
    data = request.get_json(silent=True) or {}
    if data.get("imageBase64"):
        return base64.b64decode(data["imageBase64"], validate=True)
    if data.get("url"):
        response = requests.get(data["url"], timeout=FETCH_TIMEOUT)
        response.raise_for_status()
        return response.content
    raise ValueError("Give an image file, imageBase64 or url")


def scan_user_id() -> Any:
    """Return the scanning user's id from the form or the JSON body."""
    if request.form.get("userId"):
        return request.form["userId"]
    return (request.get_json(silent=True) or {}).get("userId")


@bp.post("/_emulator/scan")
def scan() -> Response:
    """Scan a QR code as the LINE app does: an oaMessage code sends its text from the user.

    The code comes as an image (upload, base64 or URL) or, from the scan menu, as its
    decoded `text` (the oaMessage URL or the text itself) or as a scan target's id, which
    sends the text that target holds now (kiosk codes rotate).
    """
    data = request.get_json(silent=True)
    given = data.get("text") if isinstance(data, dict) else None
    if isinstance(data, dict) and data.get("target") is not None:
        found = platform().store.scan_target(str(data["target"]))
        if found is None:
            return bad_request("No scan target has that id; reopen the scan menu", 404)
        return act_on(found["text"], plain_text=True)
    if given is not None:
        if not isinstance(given, str) or not given.strip():
            return bad_request("text must be a non-empty string")
        return act_on(given, plain_text=True)
    try:
        found = decode_qr(scanned_image())
    except (ValueError, binascii.Error, UnidentifiedImageError, requests.RequestException) as exc:
        return bad_request(f"Cannot read the image: {exc}")
    if not found:
        return jsonify({"decoded": None, "sent": False})
    return act_on(found[0], plain_text=False)


def act_on(decoded: str, plain_text: bool) -> Response:
    """Send the text of a scanned code as the user, or only show what the code says."""
    target = oa_message_text(decoded)
    if target is None and plain_text and urlsplit(decoded).scheme not in ("http", "https"):
        target = (None, decoded)
    user_id = user_from({"userId": scan_user_id()})
    if target is None or not target[1] or not user_id:
        return jsonify({"decoded": decoded, "sent": False})
    sent_at = time.time()
    sent = send([events.text_event(user_id, target[1])], {"type": "text", "text": target[1]})
    if sent.status_code != 200:
        return sent
    return jsonify({"decoded": decoded, "sent": True, "basicId": target[0], "text": target[1],
                    "sentAt": sent_at, "result": sent.get_json()})
