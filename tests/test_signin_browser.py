"""The two-step sign-in in a real browser: an admin without a second factor enrols, then signs in."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import update

from cityhall.db import db
from models.staff import StaffUser
from tests.browser import chromium_page, marks, screenshot
from tests.staff_support import PASSWORD, seed_staff, sign_in_in_browser

pytestmark = marks


@pytest.fixture
def browser_page(live_app):
    seed_staff(live_app.server.app)
    with chromium_page(live_app.url, locale="ja-JP", viewport=(1024, 768)) as page:
        yield page


def test_admin_without_a_factor_enrols_at_sign_in_then_signs_in_with_the_code(
        browser_page, live_app, request):
    app = live_app.server.app
    with app.app_context(), db.transaction() as session:
        session.execute(update(StaffUser).where(StaffUser.username == "admin")
                        .values(totp_secret=None, totp_enabled_at=None))
    page = browser_page
    page.goto("/staff/login")
    page.get_by_label("ユーザー名").fill("admin")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.locator("#sign-in").click()
    page.wait_for_url("**/staff/login/code")
    qr = page.get_by_role("img", name="認証アプリにこのアカウントを追加するQRコード")
    assert qr.is_visible() and qr.evaluate("img => img.naturalWidth") > 100
    screenshot(page, "signin-01-enrol", request)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("6桁のコード").fill(pyotp.TOTP(secret).now())
    page.keyboard.press("Enter")
    page.wait_for_selector("#recovery-codes")
    assert page.locator("#recovery-codes li").count() == 10
    screenshot(page, "signin-02-recovery-codes", request)
    page.get_by_role("link", name="保管しました。続ける").click()
    page.wait_for_url("**/staff/")
    page.locator("#sign-out").click()
    page.wait_for_url("**/staff/login")

    page.goto("/staff/login")
    sign_in_in_browser(page, app, "admin")
    page.wait_for_url("**/staff/")
    assert page.get_by_role("link", name="二要素認証").is_visible()
    assert page.console_errors == []
