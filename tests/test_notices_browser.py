"""Compose, preview, see the reach, request approval, approve as another user and send, in
Chromium over real HTTP; screenshots under artifacts/browser/."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from bot import worker
from bot.gateway import gateway
from cityhall.db import db
from models import utcnow
from tests.browser import axe_violations, chromium_page, marks, screenshot
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
        page.get_by_label("題名（日本語）").fill("夏祭りのお知らせ")
        page.get_by_label("本文（日本語）").fill("8月1日に中央センターで夏祭りを開きます。")
        assert axe_violations(page) == []  # every language closed
        # Each other language is a closed <details>: the keyboard opens it (Tab, Enter).
        english = page.locator("#language-en")
        assert english.get_attribute("open") is None
        english.locator("summary").focus()
        page.keyboard.press("Enter")
        assert english.get_attribute("open") == ""
        page.keyboard.press("Tab")  # the next stop is the English title, inside
        assert page.evaluate("document.activeElement.name") == "title_en"
        page.keyboard.type("Summer fair")
        assert english.locator("[data-state=missing]").is_visible()  # ⚠ gets Japanese
        page.get_by_label("本文（English、任意）").fill("Summer fair at the Central Center on 1 August.")
        assert english.locator("[data-state=written]").is_visible()  # updated as typed
        assert english.locator("[data-state=missing]").is_hidden()
        page.get_by_label("種類").select_option("events")
        page.get_by_label("来館したセンター").select_option(["central"])
        assert axe_violations(page) == []  # one language open
        screenshot(page, "notices-compose", request)
        page.locator("#save-notice").click()
        page.wait_for_selector("#preview-ja")
        assert "夏祭りのお知らせ" in page.inner_text("#preview-ja")
        assert "Summer fair" in page.inner_text("#preview-en")
        assert page.inner_text("#reach-residents") == "3"
        assert page.inner_text("#reach-households") == "3"
        # Nobody reads a language without a text here, but the missing ones are marked.
        assert "Tiếng Việt → 日本語" in page.inner_text("#fallback-mark")
        assert page.locator("#reach-fallback").count() == 0
        assert axe_violations(page) == []
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


def test_the_reach_marks_residents_who_get_japanese(live_app, app, line, request):
    """A Tagalog reader with no Tagalog text: the preview and the reach say they get Japanese."""
    seed_staff(app)
    with app.app_context(), db.transaction() as session:
        for language in ("vi", "tl", "tl"):
            g = guardian(session, language=language)
            visit(session, g.household_id, "central", utcnow() - timedelta(days=3))
    with chromium_page(live_app.url) as page:
        page.goto("/staff/login")
        sign_in_in_browser(page, app, "admin")
        page.wait_for_url("**/staff/")
        page.goto("/staff/notices/new")
        page.get_by_label("題名（日本語）").fill("健診のお知らせ")
        page.get_by_label("本文（日本語）").fill("3か月健診があります。")
        page.locator("#language-vi summary").click()
        page.get_by_label("題名（Tiếng Việt、任意）").fill("Khám sức khỏe")
        page.get_by_label("本文（Tiếng Việt、任意）").fill("Có buổi khám sức khỏe 3 tháng.")
        page.get_by_label("来館したセンター").select_option(["central"])
        page.locator("#save-notice").click()
        page.wait_for_selector("#preview-vi")
        assert "Khám sức khỏe" in page.inner_text("#preview-vi")
        assert "Tagalog → 日本語" in page.inner_text("#fallback-mark")
        assert "うち2人は" in page.inner_text("#reach-fallback")
        assert "⚠ 日本語で届きます" in page.inner_text("#reach-lang-tl")
        assert "⚠" not in page.inner_text("#reach-lang-vi")
        screenshot(page, "notices-fallback-marked", request)
        assert axe_violations(page) == []
        assert page.console_errors == [] and page.csp_violations == []
