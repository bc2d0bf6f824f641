"""Dashboard pages, JSON, CSV and Excel: scoped by role and center, audited, right figures."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
import pytest

from checkin import services
from cityhall.city import current_city
from cityhall.db import db
from dashboards import forecast
from dashboards.charts import CHARTS
from dashboards.queries import Filters
from models import utcnow
from models.application import Submission, SubmissionStatus
from models.rollup import HourlyUsage
from tests.dashboards_support import add_family, at, center, run, visit
from tests.staff_support import StaffClient, audit_entries, staff_app  # noqa: F401

START, END = "2024-03-01", "2024-03-31"
RANGE = f"start={START}&end={END}"


@pytest.fixture
def visited(staff_app):
    """Two visits at central, one at east, in March 2024; aggregated."""
    with staff_app.app_context(), db.transaction() as session:
        guardian = add_family(session, "Ua", [date(2023, 1, 10)])
        first = visit(session, guardian, at("2024-03-13 10:15"))
        services.check_out(session, first, at("2024-03-13 11:15"), "scan")
        visit(session, guardian, at("2024-03-20 10:40"), code="east")
        other = add_family(session, "Ub", [date(2020, 5, 5), date(2023, 6, 1)], district="miwa")
        visit(session, other, at("2024-03-13 11:05"))
    run(staff_app)
    return staff_app


def client_for(app, username: str) -> StaffClient:
    client = StaffClient(app)
    assert client.login(username).status_code == 302
    return client


def test_center_staff_json_holds_only_their_centers(visited):
    client = client_for(visited, "central")
    data = client.get(f"/staff/api/dashboards/centers?{RANGE}").get_json()
    rows = dict((r[0], r[1:]) for r in data["rows"])
    assert data["columns"] == ["center", "visits", "children", "new", "minutes"]
    assert rows == {"中央子育て支援センター": [2, 3, 2, 60.0], "全センター": [2, 3, 2, 60.0]}
    assert data["filters"]["centers"] == ["central"]


def test_admin_sees_every_center(visited):
    data = client_for(visited, "admin").get(f"/staff/api/dashboards/centers?{RANGE}").get_json()
    assert {r[0]: r[1] for r in data["rows"]}["全センター"] == 3


@pytest.mark.parametrize("path", ["/staff/api/dashboards/usage", "/staff/dashboards/usage.csv",
                                  "/staff/dashboards/usage.xlsx", "/staff/dashboards/usage"])
def test_another_centers_data_is_refused_like_an_unknown_center(visited, path):
    client = client_for(visited, "central")
    east, unknown = (client.get(f"{path}?center={code}&{RANGE}") for code in ("east", "nowhere"))
    assert east.status_code == unknown.status_code == 400
    reason = "担当のセンターから選んでください。"
    for response in (east, unknown):
        if response.is_json:
            assert response.get_json()["fields"] == {"center": reason}
        else:
            assert f'<p class="error" id="error-center">{reason}</p>' in response.get_data(True)
    assert client.get(f"{path}?center=central&{RANGE}").status_code == 200


def test_department_staff_may_not_see_visits_and_center_staff_not_applications(visited):
    assert client_for(visited, "roads").get("/staff/api/dashboards/usage").status_code == 403
    assert client_for(visited, "central").get("/staff/api/dashboards/applications").status_code == 403


def test_usage_heatmap_district_and_age_figures(visited):
    client = client_for(visited, "central")
    usage = client.get(f"/staff/api/dashboards/usage?{RANGE}&grain=week").get_json()
    assert [r for r in usage["rows"] if r[1]] == [["2024-03-11", 2, 3]]
    heat = client.get(f"/staff/api/dashboards/heatmap?{RANGE}").get_json()
    # March 2024 has four Wednesdays: one visit at 10 and one at 11 average 0.25 each.
    assert heat["rows"] == [["水曜日", 10, 1, 0.25], ["水曜日", 11, 1, 0.25]]
    districts = client.get(f"/staff/api/dashboards/districts?{RANGE}").get_json()
    assert sorted(r[:3] for r in districts["rows"]) == [["三和", 1, 2], ["太田", 1, 1]]
    ages = client.get(f"/staff/api/dashboards/ages?{RANGE}").get_json()
    assert [r[1] for r in ages["rows"]] == [1, 1, 0, 1, 0]
    band = client.get(f"/staff/api/dashboards/usage?{RANGE}&band=0").get_json()
    assert sum(r[1] for r in band["rows"]) == 1 and band["columns"] == ["period", "children"]


def test_csv_and_excel_downloads_are_labelled_and_audited(visited):
    client = client_for(visited, "central")
    csv = client.get(f"/staff/dashboards/districts.csv?{RANGE}")
    assert csv.mimetype == "text/csv"
    text = csv.get_data().decode("utf-8-sig")
    assert text.splitlines()[0] == "地区,来館数,子ども,初めての世帯"
    xlsx = client.get(f"/staff/dashboards/districts.xlsx?{RANGE}")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.get_data())).active
    assert [c.value for c in sheet[1]] == ["地区", "来館数", "子ども", "初めての世帯"]
    assert sheet.max_row == 3
    client.get(f"/staff/api/dashboards/districts?{RANGE}")
    exports = audit_entries(visited, "dashboard.export")
    assert [e.detail["format"] for e in exports] == ["csv", "xlsx"]
    assert exports[0].detail["centers"] == ["central"] and exports[0].detail["rows"] == 2
    assert [e.detail["chart"] for e in audit_entries(visited, "dashboard.view")] == ["districts"]


def test_every_chart_page_loads_its_script_and_plotly_from_the_package(visited):
    client = client_for(visited, "admin")
    for chart in CHARTS:
        page = client.get(f"/staff/dashboards/{chart.slug}").get_data(as_text=True)
        assert "/staff/dashboards/vendor/plotly/plotly.min.js" in page
        assert "<script>" not in page and "style=" not in page
    js = client.get("/staff/dashboards/vendor/plotly/plotly.min.js")
    assert js.status_code == 200 and len(js.get_data()) > 1_000_000
    js.close()


def test_applications_by_status_for_their_department(visited):
    with visited.app_context(), db.transaction() as session:
        for n, (dept, status) in enumerate([("roads", SubmissionStatus.RECEIVED),
                                            ("roads", SubmissionStatus.DONE),
                                            ("roads", SubmissionStatus.DONE),
                                            ("citizens", SubmissionStatus.RECEIVED)]):
            session.add(Submission(receipt_no=f"R-{n}", form_id="f", department_code=dept,
                                   answers={}, status=status, submitted_at=at("2024-03-05 09:00")))
    data = client_for(visited, "roads").get(f"/staff/api/dashboards/applications?{RANGE}").get_json()
    assert data["rows"] == [["土木課", "完了", 2], ["土木課", "受付", 1]]


def test_today_compares_with_the_same_weekday(visited):
    with visited.app_context(), db.transaction() as session:
        guardian = add_family(session, "Uc", [date(2022, 2, 2)])
        visit(session, guardian, utcnow() - timedelta(minutes=1))
    data = client_for(visited, "central").get("/staff/api/dashboards/today").get_json()
    assert data["columns"] == ["center", "inside", "today", "average"]
    assert data["rows"][0][1:3] == [2, 1]


def test_forecast_is_the_mean_of_the_same_hour_and_its_error_is_measured(staff_app):
    today = date(2024, 6, 5)  # a Wednesday
    with staff_app.app_context(), db.transaction() as session:
        central = center(session)
        for week in range(1, 13):  # twelve Wednesdays before today, 1..12 visits at 10:00
            day = today - timedelta(weeks=13 - week)
            session.add(HourlyUsage(center_id=central.id, day=day, hour=10, weekday=2,
                                    visits=week, children=week, new_visits=0, stays=0,
                                    stay_seconds=0))
        session.flush()
        f = Filters((central,), today, today, city=current_city())
        frame, evaluation = forecast.forecast(session, f, today)
    assert set(frame["forecast"]) == {8.5}  # weeks 5..12
    assert list(frame["date"])[:2] == [today, today + timedelta(weeks=1)]
    # Fitted on weeks 1..8 (mean 4.5), it predicted weeks 9..12: errors 4.5, 5.5, 6.5, 7.5.
    assert evaluation["mae"] == 6.0 and evaluation["naive_mae"] == 1.0
    assert evaluation["slots"] == 4


def test_filters_are_checked(visited):
    client = client_for(visited, "central")
    assert client.get("/staff/api/dashboards/usage?start=nonsense").status_code == 400
    assert client.get("/staff/api/dashboards/usage?band=2").status_code == 200
    for bad in ("band=99", "grain=century"):
        assert client.get(f"/staff/api/dashboards/usage?{bad}").status_code == 400


def test_the_api_answers_bad_filters_with_400_json_naming_each_reason(visited):
    client = client_for(visited, "central")
    response = client.get("/staff/api/dashboards/usage?start=2024-03-02&end=2024-03-01&band=9")
    assert response.status_code == 400
    data = response.get_json()
    assert data["fields"] == {"end": "終了日が開始日より前です。",
                              "band": "年齢層は一覧から選んでください。"}
    assert "「end」の値が正しくありません。 終了日が開始日より前です。" in data["message"]


@pytest.mark.parametrize("suffix", ["", ".csv", ".xlsx"])
def test_bad_filters_reshow_the_form_with_the_reason_beside_the_field(visited, suffix):
    client = client_for(visited, "central")
    query = "center=east&start=2024-03-31&end=2024-03-01&band=3-5&grain=week"
    response = client.get(f"/staff/dashboards/usage{suffix}?{query}")
    assert response.status_code == 400 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'id="filter-errors"' in html and 'data-chart="usage"' not in html
    assert 'aria-describedby="error-end"' in html
    assert '<p class="error" id="error-end">終了日が開始日より前です。</p>' in html
    assert '<p class="error" id="error-center">担当のセンターから選んでください。</p>' in html
    # The other filters are kept as they were given.
    assert 'value="2024-03-31"' in html and 'value="2024-03-01"' in html
    assert '<option value="3-5" selected>' in html and '<option value="week" selected>' in html
    assert "download-csv" not in html and "plotly.min.js" not in html


def test_a_bad_filter_the_form_does_not_show_is_named_in_the_summary(visited):
    client = client_for(visited, "central")
    html = client.get(f"/staff/dashboards/centers?center=nowhere&{RANGE}").get_data(True)
    assert '<span class="hidden-filter-error">担当のセンターから選んでください。</span>' in html


def test_too_long_a_period_is_refused_beside_the_start_date(visited):
    client = client_for(visited, "central")
    html = client.get("/staff/dashboards/usage?start=2010-01-01&end=2024-03-01").get_data(True)
    assert '<p class="error" id="error-start">期間は5年以内にしてください。</p>' in html
    html = client.get("/staff/dashboards/usage?start=0001-01-01").get_data(True)
    assert "1900-01-01 から 2999-12-31 までの日付を入力してください。" in html

