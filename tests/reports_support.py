"""Helpers for the reports tests: photos with GPS EXIF, taps by postback data, reports built
directly, the worker drained."""

from __future__ import annotations

import io
import re
from datetime import datetime

from PIL import Image
from sqlalchemy import select

from cityhall.db import db
from models import Resident as ResidentRow
from models.report import Report
from reports import services
from reports.geo import load_boundary
from tests.chat import Resident

INSIDE = (35.4406, 137.0157)  # Minokamo city hall
INSIDE_HACHIYA = (35.4840, 137.0200)
OUTSIDE = (35.4230, 136.7600)  # Gifu city
RECEIPT = re.compile(r"R-\d{4}-\d{6}")


def gps_jpeg(size: tuple[int, int] = (800, 600), colour=(200, 30, 30)) -> bytes:
    """A JPEG carrying EXIF with a GPS position, a camera make and a comment."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "SecretCam 1.0"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (35.0, 26.0, 26.0)
    gps[3], gps[4] = "E", (137.0, 0.0, 56.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    data = out.getvalue()
    assert b"SecretCam" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    return data


def tap_data(person: Resident, prefix: str) -> dict:
    """Tap the quick reply whose postback data starts with `prefix` on the last message."""
    found = [a for a in person.quick_replies()
             if a.get("type") == "postback" and a["data"].startswith(prefix)]
    assert found, f"no button {prefix!r} in {person.quick_replies()} (last: {person.last()!r})"
    return person.postback(found[0]["data"])


def tap_category(person: Resident, code: str) -> dict:
    return tap_data(person, f"rp.cat:{code}")


def drain(app) -> None:
    """Deliver every queued push through the emulator."""
    with app.app_context():
        from bot import worker
        from bot.gateway import gateway

        worker.drain(db.session, gateway())


def file_direct(app, code: str, point=INSIDE, when: datetime | None = None,
                user_id: str | None = None, public: bool = False, photo: bytes | None = None) -> int:
    """Store a report without the chat (arranging a test); return its id."""
    from models import utcnow

    with app.app_context(), db.transaction() as session:
        category = next(c for c in services.categories(session) if c.code == code)
        resident = session.scalars(select(ResidentRow).where(
            ResidentRow.line_user_id == user_id)).first() if user_id else None
        from reports import photos

        cleaned = [photos.clean(photo)] if photo else []
        report = services.file_report(session, services.NewReport(
            category, *point, comment="穴",
            photos=[(c.data, c.width, c.height, c.sha256) for c in cleaned]),
                                      resident, when or utcnow(), boundary=load_boundary(),
                                      local_year=2026, source="demo")
        report.public = public
        return report.id


def report_by_receipt(session, receipt: str) -> Report:
    return session.scalars(select(Report).where(Report.receipt_no == receipt)).one()
