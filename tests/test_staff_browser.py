"""The staff web in a real browser: Debian's Chromium driven by Playwright (sync API)."""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium_page, marks, screenshot
from tests.staff_support import seed_staff, sign_in_in_browser

pytestmark = marks


@pytest.fixture
def browser_page(live_app):
    """A tablet-sized Japanese page in headless Chromium, on the app with staff accounts."""
    seed_staff(live_app.server.app)
    with chromium_page(live_app.url, locale="ja-JP", viewport=(1024, 768)) as page:
        yield page


def shot(page, name: str, request) -> None:
    screenshot(page, f"staff-{name}", request)


def test_admin_signs_in_manages_centers_and_signs_out(browser_page, live_app, request):
    page = browser_page
    page.goto("/staff/admin/centers")
    assert re.search(r"/staff/login\?next=", page.url)
    assert page.get_by_role("heading", name="ログイン").is_visible()
    shot(page, "01-login", request)

    sign_in_in_browser(page, live_app.server.app, "admin")
    page.wait_for_url("**/staff/admin/centers")
    assert page.get_by_role("heading", name="センター管理").is_visible()

    for link, heading, name in [("ホーム", "Admin さん、こんにちは", "02-home"),
                                ("職員アカウント", "職員アカウント", "03-users"),
                                ("部署管理", "部署管理", "04-departments"),
                                ("地区", "地区", "05-districts"),
                                ("操作ログ", "操作ログ", "06-audit")]:
        page.get_by_role("navigation", name="メイン").get_by_role("link", name=link).click()
        assert page.get_by_role("heading", name=heading).is_visible()
        shot(page, name, request)

    _add_center(page, request)

    page.locator("#sign-out").click()
    page.wait_for_url("**/staff/login")
    assert page.get_by_text("ログアウトしました。").is_visible()
    shot(page, "10-signed-out", request)
    page.goto("/staff/admin/centers")
    assert "/staff/login" in page.url
    assert page.console_errors == []


def _add_center(page, request) -> None:
    page.get_by_role("navigation", name="メイン").get_by_role("link", name="センター管理").click()
    page.locator("#add-center").click()
    page.get_by_label("コード", exact=True).fill("north")
    page.get_by_label("名称（日本語）").fill("北子育て支援センター")
    page.get_by_label("名称（英語）").fill("North Child Support Center")
    page.get_by_label("住所", exact=True).fill("古井町7-8")
    page.get_by_label("地区", exact=True).select_option("furui")
    page.get_by_label("キオスク画面の更新されるQRコード").check()
    page.get_by_label("月曜日 開館").fill("09:30")
    page.get_by_label("月曜日 閉館").fill("12:00")
    page.get_by_label("火曜日 開館").fill("13:00")
    shot(page, "07-center-form", request)
    page.locator("#save-center").click()
    # Tuesday has an opening time but no closing time: the form says so and keeps the input.
    assert page.get_by_text("開館・閉館の両方を入力してください").is_visible()
    shot(page, "08-center-form-error", request)
    page.get_by_label("火曜日 閉館").fill("16:00")
    page.locator("#save-center").click()
    page.wait_for_url("**/staff/admin/centers")
    assert page.get_by_text("north を追加しました。").is_visible()
    assert page.get_by_role("link", name="北子育て支援センター").is_visible()
    shot(page, "09-center-added", request)
