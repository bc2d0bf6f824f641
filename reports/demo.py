"""Demo data: fifty reports in the demo city, in every state, with photos drawn by Pillow."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.report import Report, ReportStatus
from reports import photos, services
from reports.geo import Boundary

COMMENTS = {
    "road": "道路に穴があいています", "park": "遊具のロープが切れています",
    "streetlight": "街灯が夜につきません", "tree": "木が倒れて歩道をふさいでいます",
    "dumping": "空き地に家電が捨てられています", "disaster": "大雨で道路が冠水しています",
    "other": "案内看板が傾いています",
}
STATES = [ReportStatus.RECEIVED] * 18 + [ReportStatus.IN_PROGRESS] * 14 + \
    [ReportStatus.DONE] * 13 + [ReportStatus.NOT_OURS] * 5


def draw_photo(code: str, rng: random.Random) -> bytes:
    """Draw a simple scene for a category: sky, ground and the thing reported."""
    image = Image.new("RGB", (640, 480), (150, 190, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 300, 640, 480], fill=(90, 90, 95) if code in ("road", "disaster")
                   else (110, 160, 90))
    x, y = rng.randint(120, 420), rng.randint(320, 380)
    if code == "road":
        draw.ellipse([x, y, x + 140, y + 60], fill=(40, 35, 30))
    elif code == "disaster":
        draw.rectangle([0, 330, 640, 480], fill=(120, 100, 60))
    elif code == "tree":
        draw.line([x, y, x + 200, y - 40], fill=(100, 70, 40), width=24)
        draw.ellipse([x + 160, y - 110, x + 300, y + 10], fill=(40, 120, 50))
    elif code == "streetlight":
        draw.rectangle([x, 80, x + 12, 320], fill=(70, 70, 70))
        draw.ellipse([x - 20, 60, x + 32, 100], fill=(60, 60, 60))
    elif code == "park":
        draw.line([x, 150, x, 320], fill=(200, 50, 50), width=10)
        draw.line([x + 160, 150, x + 160, 320], fill=(200, 50, 50), width=10)
        draw.line([x, 150, x + 160, 150], fill=(200, 50, 50), width=10)
    else:
        draw.rectangle([x, y - 60, x + 120, y + 20], fill=(220, 220, 210))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def random_point(boundary: Boundary, rng: random.Random) -> tuple[float, float]:
    min_lon, min_lat, max_lon, max_lat = boundary.bounds()
    while True:
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        if boundary.contains(lat, lon):
            return lat, lon


def fill(session: Session, now: datetime, boundary: Boundary, year: int, count: int = 50,
         seed: int = 15) -> int:
    """Add the demo reports unless some are there already; return how many were added."""
    if session.scalar(select(func.count()).select_from(Report).where(Report.source == "demo")):
        return 0
    rng = random.Random(seed)
    cats = services.categories(session)
    if not cats:  # no departments yet (`cityhall seed` makes them)
        return 0
    filed: list[Report] = []
    for i in range(count):
        category = cats[i % len(cats)]
        lat, lon = random_point(boundary, rng)
        clean = photos.clean(draw_photo(category.code, rng))
        created = now - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
        new = services.NewReport(category, lat, lon, address=None,
                                 comment=COMMENTS[category.code] if category.code in COMMENTS
                                 else None,
                                 photos=[(clean.data, clean.width, clean.height, clean.sha256)])
        report = services.file_report(session, new, None, created, boundary=boundary,
                                      local_year=year, source="demo")
        status = STATES[(i * 7) % len(STATES)]  # mixed across categories and places
        if status != ReportStatus.RECEIVED:
            services.change_status(session, report, status, created + timedelta(days=1),
                                   by="demo", public_comment="対応状況を更新しました",
                                   passed_to="岐阜県 可茂土木事務所"
                                   if status == ReportStatus.NOT_OURS else None)
        report.public = i % 3 == 0
        filed.append(report)
    merge_one(session, filed)
    session.flush()
    return count


def merge_one(session: Session, filed: list[Report]) -> None:
    """Mark the newest received report a duplicate of an older received one of its category,
    so the demo holds every state (merged included)."""
    received = [r for r in filed if r.status == ReportStatus.RECEIVED]
    for newer in sorted(received, key=lambda r: r.created_at, reverse=True):
        older = next((r for r in received if r.category_id == newer.category_id
                      and r.created_at < newer.created_at), None)
        if older is not None:
            services.merge(session, newer, older, newer.created_at + timedelta(hours=2),
                           by="demo")
            newer.public = False
            return


def demo_data(ctx) -> None:
    """`cityhall demo-data`: the fifty reports, through the features' demo-data hook."""
    from flask import current_app, has_app_context

    from reports.geo import load_boundary

    path = current_app.config.get("CITYHALL_BOUNDARY") if has_app_context() else None
    added = fill(ctx.session, ctx.now, load_boundary(path or None), ctx.today.year,
                 seed=ctx.rng.randrange(1 << 30))
    ctx.note(f"{added} reports with drawn photos, in every state")
