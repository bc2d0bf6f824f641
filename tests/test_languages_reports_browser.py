"""The report page's per-language comment fields in a real browser: each labelled in its own
language, reached with the keyboard after the Japanese comment, the readers' languages
marked; axe-core finds no WCAG 2.1 AA violation; no console error and no CSP violation."""

from __future__ import annotations

from cityhall.db import db
from models import Resident
from tests.browser import axe_violations, chromium_page, marks, screenshot
from tests.reports_support import file_direct
from tests.staff_support import seed_staff, sign_in_in_browser

pytestmark = marks


def test_comment_fields_per_language_are_labelled_and_keyboard_reachable(live_app, request):
    app = live_app.server.app
    seed_staff(app)
    with app.app_context(), db.transaction() as session:
        session.add(Resident(line_user_id="Uvi-reporter", language="vi", display_name="An"))
    report = file_direct(app, "road", user_id="Uvi-reporter")
    with chromium_page(live_app.url, viewport=(1280, 1400)) as page:
        page.goto("/staff/login")
        sign_in_in_browser(page, app, "roads")
        page.goto(f"/staff/reports/{report}")
        assert page.locator(".reporter-language [lang=vi]").inner_text() == "Tiếng Việt"
        for code, name in (("vi", "Tiếng Việt"), ("ne", "नेपाली"), ("pt_BR", "Português")):
            field = page.get_by_label(name, exact=True)
            assert field.get_attribute("id") == f"st-comment_{code}"
        assert page.locator(".fallback-mark[data-language=vi]").is_visible()
        assert page.locator(".fallback-mark").count() == 1  # only Vietnamese has a reader
        page.locator("#st-public_comment").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "st-comment_ja_easy"
        page.keyboard.type("あした なおします。")
        screenshot(page, "reports-comment-languages", request)
        assert axe_violations(page) == []
        assert page.console_errors == [] and page.csp_violations == []
