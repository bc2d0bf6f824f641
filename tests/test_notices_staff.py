"""The notices staff pages through the test client: compose, preview, reach, image, figures."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from bot import worker
from bot.gateway import gateway
from cityhall.db import db
from models import utcnow
from models.notice import Notice, NoticeImage
from tests.notices_support import guardian, visit
from tests.staff_support import StaffClient, as_admin, audit_actions, staff_app  # noqa: F401


def families(app, n: int = 3, language: str = "ja") -> None:
    with app.app_context(), db.transaction() as session:
        for _ in range(n):
            g = guardian(session, language=language)
            visit(session, g.household_id, "central", utcnow() - timedelta(days=2))


def compose(client: StaffClient, **fields):
    data = {"title": "夏祭りのお知らせ", "body_ja": "8月1日に夏祭りを開きます。", "body_en": "Summer fair on 1 August.",
            "topic": "events", "audience": "registered", "centers": ["central"], "visited_days": "30"}
    data.update(fields)
    return client.post("/staff/notices/new", data, content_type="multipart/form-data")


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def test_compose_preview_reach_send_and_figures(as_admin, staff_app, line):
    staff_app.config["NOTICE_QUIET_HOURS"] = "none"  # the test may run at night
    families(staff_app, 2)
    families(staff_app, 1, language="en")
    response = compose(as_admin, image=(io.BytesIO(png(3000, 2000)), "fair.png"),
                       link_url="https://example.jp/fair", link_label="詳しく")
    assert response.status_code == 302
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = as_admin.get(f"/staff/notices/{notice_id}").get_data(as_text=True)
    assert 'id="preview-ja"' in page and 'id="preview-en"' in page
    assert "Summer fair on 1 August." in page and "詳しく" in page
    assert re.search(r'id="reach-residents">3<', page) and re.search(r'id="reach-households">3<', page)
    with staff_app.app_context(), db.session() as session:
        image = session.get(NoticeImage, notice_id)
        assert (image.width, image.height) == (1024, 683)
        path = image.url.split("://", 1)[1].split("/", 1)[1]
    served = as_admin.client.get("/" + path)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert as_admin.client.get("/" + path.replace(".jpg", "x.jpg")).status_code == 404
    assert as_admin.post(f"/staff/notices/{notice_id}/send").status_code == 302
    with staff_app.app_context():
        worker.drain(db.session, gateway())
    figures = as_admin.get(f"/staff/api/notices/{notice_id}/figures").get_json()
    assert (figures["targeted"], figures["sent"], figures["failed"]) == (3, 3, 0)
    csv = as_admin.get(f"/staff/notices/{notice_id}/figures.csv")
    assert csv.mimetype == "text/csv" and "ja,2,sent" in csv.get_data(as_text=True)
    assert {"notice.compose", "notice.send"} <= set(audit_actions(staff_app))


def test_compose_refuses_bad_input_with_a_clear_message(as_admin, staff_app):
    page = compose(as_admin, body_ja="").get_data(as_text=True)
    assert "error" in page
    page = compose(as_admin, image=(io.BytesIO(b"not an image"), "x.png")).get_data(as_text=True)
    assert "JPEG" in page
    page = compose(as_admin, age_min="30", age_max="12").get_data(as_text=True)
    assert "MIN &lt;= MAX" in page or "MIN <= MAX" in page
    with staff_app.app_context(), db.session() as session:
        assert session.scalars(select(Notice)).all() == []


def test_center_staff_compose_only_for_their_centers(staff_app):
    client = StaffClient(staff_app)
    client.login("central")
    page = compose(client, centers=[]).get_data(as_text=True)
    assert "Center staff" in page or "センター" in page
    assert compose(client).status_code == 302


def test_closure_form_and_reminders_pages(as_admin, staff_app, line):
    families(staff_app, 2)
    response = as_admin.post("/staff/notices/closures",
                             {"center": "central", "day": "2030-01-15", "reason": "停電のため"})
    assert response.status_code == 302
    page = as_admin.get("/staff/notices/closures").get_data(as_text=True)
    assert "2030-01-15" in page and "停電のため" in page
    past = as_admin.post("/staff/notices/closures",
                         {"center": "central", "day": "2020-01-15", "reason": "x"})
    assert "That day has passed" in past.get_data(as_text=True) or "過ぎ" in past.get_data(as_text=True)
    response = as_admin.post("/staff/notices/reminders/new",
                             {"age_months": "3", "title": "4か月児健診", "body_ja": "本文"})
    assert response.status_code == 302
    assert "4か月児健診" in as_admin.get("/staff/notices/reminders").get_data(as_text=True)
