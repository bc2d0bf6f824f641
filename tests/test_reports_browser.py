"""The reports map in a real browser: Leaflet from the project, the boundary, markers
coloured by status and clustered, a filter that changes them, the list beside the map, no
console error and no CSP violation, offline (no tile URL). The staff dashboard: the overdue
count on its tile, and in disaster mode today's counts by district and status; axe-core finds
no WCAG 2.1 AA violation on these pages."""

from __future__ import annotations

import re

from sqlalchemy import true

from cityhall.city import current_city
from cityhall.db import db
from models import utcnow
from reports import demo, services
from reports.geo import load_boundary
from tests.browser import axe_violations, chromium_page, marks, screenshot
from tests.reports_support import INSIDE_HACHIYA, file_direct
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


def test_the_dashboard_counts_overdue_reports_and_in_disaster_mode_todays(live_app, request):
    app = live_app.server.app
    seed_staff(app)
    with app.app_context(), db.transaction() as session:
        now = utcnow()
        demo.fill(session, now, load_boundary(), current_city().today(now).year)
        overdue = services.overdue_count(session, true(), now)
        services.set_disaster_mode(session, True, now)
    assert overdue > 0
    file_direct(app, "disaster")  # two reports of today, in two districts
    file_direct(app, "disaster", point=INSIDE_HACHIYA)
    with chromium_page(live_app.url, viewport=(1280, 900)) as page:
        page.goto("/staff/login")
        sign_in_in_browser(page, app, "admin")
        page.goto("/staff/dashboards/")
        figure = page.locator("[data-headline='reports-overdue']").inner_text()
        assert int(re.sub(r"\D", "", figure)) == overdue
        assert page.locator("[data-headline='reports-disaster']").is_visible()
        assert axe_violations(page) == []
        screenshot(page, "dashboards-reports", request)

        page.goto("/staff/dashboards/reports-disaster")
        page.wait_for_selector("#chart-reports-disaster .main-svg", timeout=15_000)
        page.wait_for_selector("#table-reports-disaster tbody tr")
        assert page.locator("#table-reports-disaster thead th").count() == 3
        assert axe_violations(page) == []
        screenshot(page, "dashboards-reports-disaster", request)

        page.goto("/staff/dashboards/reports-overdue")
        page.wait_for_selector("#chart-reports-overdue .main-svg", timeout=15_000)
        assert page.locator("#table-reports-overdue tbody tr").count() == len(services.CATEGORIES)
        assert axe_violations(page) == []
        page.wait_for_timeout(200)  # a CSP violation is reported as an event, after the fact
        assert page.console_errors == [] and page.csp_violations == []
