"""Compose, preview, see the reach, request approval, approve as another user and send, in
Chromium over real HTTP; screenshots under artifacts/browser/."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from bot import worker
from bot.gateway import gateway
from cityhall.db import db
from models import utcnow
from tests.browser import chromium_page, marks, screenshot
from tests.notices_support import guardian, visit
from tests.staff_support import seed_staff, sign_in_in_browser

pytestmark = marks


def test_compose_preview_reach_approve_as_another_user_and_send(live_app, app, line, request):
    seed_staff(app)
    app.config["NOTICE_APPROVAL_THRESHOLD"] = 2
    app.config["NOTICE_QUIET_HOURS"] = "none"  # the test may run at night
    with app.app_context(), db.transaction() as session:
        for language in ("ja", "ja", "en"):
            g = guardian(session, language=language)
            visit(session, g.household_id, "central", utcnow() - timedelta(days=3))
    with chromium_page(live_app.url) as page:
        page.goto("/staff/login")
        sign_in_in_browser(page, app, "central")
        page.wait_for_url("**/staff/")
        page.goto("/staff/notices/new")
        page.get_by_label("題名").fill("夏祭りのお知らせ")
        page.get_by_label("本文（日本語）").fill("8月1日に中央センターで夏祭りを開きます。")
        page.get_by_label("本文（英語、任意）").fill("Summer fair at the Central Center on 1 August.")
        page.get_by_label("種類").select_option("events")
        page.get_by_label("来館したセンター").select_option(["central"])
        screenshot(page, "notices-compose", request)
        page.locator("#save-notice").click()
        page.wait_for_selector("#preview-ja")
        assert "夏祭りのお知らせ" in page.inner_text("#preview-ja")
        assert "Summer fair" in page.inner_text("#preview-en")
        assert page.inner_text("#reach-residents") == "3"
        assert page.inner_text("#reach-households") == "3"
        assert page.locator("#send-notice").count() == 0  # over the threshold: approval first
        screenshot(page, "notices-preview-reach", request)
        page.locator("#request-approval").click()
        page.wait_for_selector("text=承認を依頼しました")
        notice_url = page.url
        assert page.locator("#approve").count() == 0  # not by its own author
        page.locator("#sign-out").click()
        page.wait_for_url("**/staff/login**")

        sign_in_in_browser(page, app, "admin")
        page.wait_for_url("**/staff/")
        page.goto(notice_url)
        assert page.inner_text("#reach-residents") == "3"
        screenshot(page, "notices-approver-sees-preview", request)
        page.locator("#approve").click()
        page.wait_for_selector("text=承認しました")
        page.locator("#send-notice").click()
        page.wait_for_selector("text=3人への送信を始めました")
        with app.app_context():
            worker.drain(db.session, gateway())
        expect(page.locator("[data-figure=sent]")).to_have_text("3", timeout=15_000)
        screenshot(page, "notices-sent", request)
        assert page.console_errors == [] and page.csp_violations == []
