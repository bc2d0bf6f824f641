"""Dashboards in a real browser: every chart drawn by Plotly from the package in the page's
language, no console error and no CSP violation, a CSV download, bad filters re-shown."""

from __future__ import annotations

import re
from datetime import date, timedelta

from checkin import services
from cityhall.city import current_city
from cityhall.db import db
from dashboards.charts import CHARTS
from models import utcnow
from models.application import Submission, SubmissionStatus
from tests.browser import chromium_page, marks, screenshot
from tests.dashboards_support import TOKYO, center, run
from tests.staff_support import PASSWORD, seed_staff

pytestmark = marks
HOURS = (10, 11, 14)
DAY_TICK = re.compile(r"(1[0-2]|[1-9])月([1-9]|[12][0-9]|3[01])日")
MONTH_TICK = re.compile(r"20[0-9]{2}年(1[0-2]|[1-9])月")


def twelve_weeks_of_visits(app) -> None:
    """Walk-ins at central on every day of the last twelve weeks, more in the morning."""
    today = utcnow().astimezone(TOKYO).date()
    with app.app_context(), db.transaction() as session:
        central = center(session)
        for back in range(1, 85):
            day = today - timedelta(days=back)
            for n, hour in enumerate(HOURS[: 1 + (back + day.weekday()) % 3]):
                start = _local(day, hour, 5 * n)
                visit = services.check_in_walk_in(session, central, "来館者", "ota",
                                                  [date(2023, 1 + n, 1)], start,
                                                  city=current_city())
                services.check_out(session, visit, start + timedelta(minutes=50 + 10 * n), "scan")
    run(app)


def _local(day: date, hour: int, minute: int):
    from datetime import datetime

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO)


def sign_in(page, username: str = "central") -> None:
    page.goto("/staff/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.locator("#sign-in").click()
    page.wait_for_url("**/staff/")


def drawn(page, slug: str, query: str = "") -> None:
    """Open a chart's page, wait for Plotly's drawing and hover it (hover labels style too)."""
    page.goto(f"/staff/dashboards/{slug}{query}")
    page.wait_for_selector(f"#chart-{slug} .main-svg", timeout=15_000)
    page.hover(f"#chart-{slug} .nsewdrag")
    page.wait_for_timeout(200)  # a violation is reported as an event, after the fact


def x_ticks(page, slug: str) -> list[str]:
    return page.locator(f"#chart-{slug} .xtick text").all_text_contents()


def test_center_staff_see_every_chart_drawn_and_download_a_csv(live_app, app, request):
    seed_staff(app)
    twelve_weeks_of_visits(app)
    with chromium_page(live_app.url, viewport=(1200, 900)) as page:
        sign_in(page)
        page.goto("/staff/dashboards/")
        screenshot(page, "dashboards-index", request)
        for chart in [c for c in CHARTS if "center" in c.roles]:
            drawn(page, chart.slug)
            assert page.locator(f"#table-{chart.slug} tbody tr").count() > 0
            screenshot(page, f"dashboards-{chart.slug}", request)
            assert (chart.slug, page.console_errors, page.csp_violations) == (chart.slug, [], [])
        assert page.inner_text("[data-extra=mae]") not in ("…", "—")
        with page.expect_download() as download:
            page.locator("#download-csv").click()
        with open(download.value.path(), encoding="utf-8-sig") as csv:
            text = csv.read()
        assert text.splitlines()[0].startswith("日付,曜日,時,予測来館数")
        assert page.console_errors == [] and page.csp_violations == []


def test_department_staff_see_applications_drawn_without_a_console_error(live_app, app):
    seed_staff(app)
    with app.app_context(), db.transaction() as session:
        for n, status in enumerate([SubmissionStatus.RECEIVED, SubmissionStatus.DONE]):
            session.add(Submission(receipt_no=f"R-{n}", form_id="f", department_code="roads",
                                   answers={}, status=status, submitted_at=utcnow()))
    with chromium_page(live_app.url, viewport=(1200, 900)) as page:
        sign_in(page, "roads")
        drawn(page, "applications")
        assert page.locator("#table-applications tbody tr").count() == 2
        assert page.console_errors == [] and page.csp_violations == []


def test_japanese_pages_draw_plotly_in_japanese_and_english_pages_in_english(live_app, app):
    seed_staff(app)
    twelve_weeks_of_visits(app)
    with chromium_page(live_app.url, viewport=(1200, 900)) as page:
        sign_in(page)
        drawn(page, "usage")
        ticks = x_ticks(page, "usage")
        assert ticks and all(DAY_TICK.fullmatch(t) for t in ticks), ticks
        # The mode bar's tooltips come from Plotly's ja locale, served from our static files.
        assert page.locator('#chart-usage [data-title="PNG画像として保存"]').count() == 1
        drawn(page, "households", "?grain=month")
        ticks = x_ticks(page, "households")
        assert ticks and all(MONTH_TICK.fullmatch(t) for t in ticks), ticks
        drawn(page, "heatmap")
        assert "10時" in x_ticks(page, "heatmap")
        page.locator("button[name=lang][value=en]").click()
        drawn(page, "usage")
        ticks = x_ticks(page, "usage")
        assert ticks and not any("月" in t for t in ticks)
        assert re.search(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ", " ".join(ticks))
        assert page.locator('#chart-usage [data-title="Download plot as a PNG"]').count() == 1
        assert page.console_errors == [] and page.csp_violations == []


def test_bad_filters_are_shown_beside_their_field_and_the_others_kept(live_app, app, request):
    seed_staff(app)
    twelve_weeks_of_visits(app)
    with chromium_page(live_app.url, viewport=(1200, 900)) as page:
        sign_in(page)
        drawn(page, "usage")
        page.get_by_label("開始日").fill("2026-03-31")
        page.get_by_label("終了日").fill("2026-03-01")
        page.get_by_label("単位", exact=True).select_option("week")
        page.get_by_role("button", name="表示", exact=True).click()
        error = page.locator("#error-end")
        assert error.inner_text() == "終了日が開始日より前です。"
        assert page.get_by_label("終了日").get_attribute("aria-describedby") == "error-end"
        assert page.get_by_label("開始日").input_value() == "2026-03-31"
        assert page.get_by_label("単位", exact=True).input_value() == "week"
        assert page.locator("#filter-errors").is_visible()
        screenshot(page, "dashboards-bad-filters", request)
        page.get_by_label("終了日").fill("2026-04-30")
        page.get_by_role("button", name="表示", exact=True).click()
        page.wait_for_selector("#chart-usage .main-svg", timeout=15_000)
        assert "grain=week" in page.url and page.locator("#error-end").count() == 0
        # The re-shown form is answered with 400, which Chromium reports on the console itself.
        assert page.console_errors == [
            "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]
        assert page.csp_violations == []
