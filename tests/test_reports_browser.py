"""The reports map in a real browser: Leaflet from the project, the boundary, markers
coloured by status and clustered, a filter that changes them, the list beside the map, no
console error and no CSP violation, offline (no tile URL)."""

from __future__ import annotations

from cityhall.city import current_city
from cityhall.db import db
from models import utcnow
from reports import demo
from reports.geo import load_boundary
from tests.browser import chromium_page, marks, screenshot
from tests.staff_support import seed_staff, sign_in_in_browser

pytestmark = marks


def test_map_shows_markers_and_the_status_filter_works(live_app, request):
    app = live_app.server.app
    seed_staff(app)
    with app.app_context(), db.transaction() as session:
        now = utcnow()
        assert demo.fill(session, now, load_boundary(), current_city().today(now).year) == 50
    with chromium_page(live_app.url, viewport=(1280, 900)) as page:
        page.goto("/staff/login")
        sign_in_in_browser(page, app, "admin")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto("/staff/reports/")
        page.wait_for_selector("#report-map[data-markers='50']")
        assert page.locator(".leaflet-overlay-pane path").count() >= 2  # boundary + markers
        assert page.locator(".leaflet-control-scale").count() == 1
        assert page.locator("#report-rows tr").count() == 50
        assert page.locator("img.leaflet-tile").count() == 0  # offline: no tile layer
        screenshot(page, "reports-map", request)

        page.locator("input[name=status][value=done]").check()
        page.locator("#apply-filters").click()
        page.wait_for_url("**status=done**")
        # A selector, not a script: the page's CSP forbids evaluating strings.
        page.wait_for_selector("#report-map[data-markers]:not([data-markers='50'])")
        shown = int(page.locator("#report-map").get_attribute("data-markers"))
        assert 0 < shown < 50
        assert page.locator("#report-rows tr").count() == shown
        page.locator("#report-rows a").first.click()
        page.wait_for_url("**/staff/reports/*")
        assert page.locator(".report-photos img").count() >= 1
        screenshot(page, "reports-detail", request)
        assert page.console_errors == [] and page.csp_violations == [] and errors == []
