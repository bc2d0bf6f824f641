"""The staff event pages in a real browser: create an event with the keyboard-reachable form,
see the reservation list and the waitlist, no console error or CSP violation; screenshots."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from cityhall.city import current_city
from cityhall.db import db
from events import services
from models import utcnow
from models.event import Event
from models.household import Guardian
from tests.browser import chromium_page, marks, screenshot
from tests.events_support import household
from tests.staff_support import PASSWORD, seed_staff

pytestmark = marks


def test_staff_create_an_event_and_read_its_reservation_list(live_app, app, request):
    seed_staff(app)
    for n, name in enumerate(["一花", "二葉", "三春"]):
        household(app, [f"U{n}" + "b" * 32], [date(2024, 1, 20)], names=[name])
    day = date.today() + timedelta(days=5)
    with chromium_page(live_app.url) as page:
        page.goto("/staff/login")
        page.get_by_label("ユーザー名").fill("central")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.locator("#sign-in").click()
        page.wait_for_url("**/staff/")
        page.get_by_role("link", name="イベント").first.click()
        page.get_by_role("link", name="新しいイベント").click()
        page.get_by_label("タイトル（日本語）").fill("親子リトミック")
        page.get_by_label("日付").fill(day.isoformat())
        page.get_by_label("開始", exact=True).fill("10:00")
        page.get_by_label("終了", exact=True).fill("11:30")
        page.get_by_label("定員", exact=True).fill("2")
        page.get_by_label("家族").check()
        screenshot(page, "event-form", request)
        page.get_by_role("button", name="保存").click()
        page.wait_for_selector("#capacity")
        with app.app_context(), db.transaction() as session:
            event = session.scalars(select(Event)).one()
            assert event.unit == "families" and event.capacity == 2
            for guardian in session.scalars(select(Guardian).order_by(Guardian.id)):
                services.reserve(session, event.id, guardian, None, utcnow(), city=current_city())
        page.reload()
        reserved = page.inner_text("#reservations tbody")
        waiting = page.inner_text("#waitlist tbody")
        assert "保護者" in reserved and "一花" in reserved and "二葉" in reserved
        assert "三春" in waiting and "キャンセル待ち" in waiting
        assert page.inner_text("#capacity").startswith("2 / 2 家族")
        # The wide tables scroll in their own box, reachable by keyboard.
        assert page.locator(".table-scroll").first.get_attribute("tabindex") == "0"
        screenshot(page, "event-reservations", request)
        assert page.console_errors == [] and page.csp_violations == []
