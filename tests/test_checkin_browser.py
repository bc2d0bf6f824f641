"""The roster in a real browser: it refreshes itself when a family scans in (no inline script)."""

from __future__ import annotations

from tests.browser import chromium_page, marks, screenshot
from tests.chat import Resident
from tests.checkin_support import family, open_all_day, scan_text
from tests.test_care_notes import set_notes
from tests.staff_support import PASSWORD, seed_staff

pytestmark = marks


def test_roster_refreshes_itself_when_a_family_scans_in(live_app, app, line, monkeypatch, request):
    from checkin import staff_views

    monkeypatch.setattr(staff_views, "REFRESH_SECONDS", 1)
    seed_staff(app)
    open_all_day(app)
    person = Resident(line)
    family(app, [person.user_id], children=2)
    set_notes(app, "子ども2", "卵アレルギー")
    with chromium_page(live_app.url) as page:
        page.goto("/staff/login")
        page.get_by_label("ユーザー名").fill("central")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.locator("#sign-in").click()
        page.wait_for_url("**/staff/")
        page.goto("/staff/checkin/central/")
        assert page.locator("#roster tbody tr").count() == 0
        person.say(scan_text(app))
        person.tap("子ども全員")
        page.wait_for_selector("#roster tbody tr", timeout=10_000)
        row = page.inner_text("#roster tbody")
        assert "保護者1" in row and "子ども1" in row and "子ども2" in row
        assert page.inner_text("#roster-summary").startswith("利用中：1組・子ども2人")
        # The refresh draws the allergy badge too: an icon hidden from screen readers, a label.
        badge = page.locator("#roster .care-note")
        assert badge.count() == 1 and badge.inner_text().endswith("アレルギー・配慮事項: 卵アレルギー")
        assert badge.locator(".care-icon").get_attribute("aria-hidden") == "true"
        screenshot(page, "checkin-roster", request)
        assert page.console_errors == []
