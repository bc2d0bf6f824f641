"""Reports on the staff dashboard: overdue per category (the count on the tile) and, in
disaster mode, today's reports by district and status; both scoped to the viewer's
departments like the reports pages."""

from __future__ import annotations

import re
from datetime import timedelta

from cityhall.city import City
from cityhall.db import db
from models import utcnow
from reports import services
from tests.reports_support import INSIDE, INSIDE_HACHIYA, file_direct
from tests.staff_support import StaffClient, staff_app  # noqa: F401


def signed_in(app, username: str) -> StaffClient:
    client = StaffClient(app)
    assert client.login(username).status_code == 302
    return client


def tile(page: str, slug: str) -> int:
    """Return the number written on a chart's tile of the dashboards index (期限超過：2件)."""
    return int(re.sub(r"\D", "", page.split(f'data-headline="{slug}">')[1].split("<")[0]))


def rows_of(client: StaffClient, slug: str) -> list[dict]:
    body = client.get(f"/staff/api/dashboards/{slug}").get_json()
    return [dict(zip(body["columns"], row)) for row in body["rows"]]


def test_overdue_reports_are_counted_per_category_on_the_dashboard(staff_app):
    file_direct(staff_app, "tree", when=utcnow() - timedelta(days=5))  # roads, target 3 days
    file_direct(staff_app, "road", when=utcnow() - timedelta(days=2))  # roads, target 14
    file_direct(staff_app, "dumping", point=INSIDE_HACHIYA,
                when=utcnow() - timedelta(days=10))  # citizens, target 7
    done = file_direct(staff_app, "tree", when=utcnow() - timedelta(days=9))
    with staff_app.app_context(), db.transaction() as session:
        report = services.lock(session, done)
        services.change_status(session, report, services.ReportStatus.DONE, utcnow(), by="t")
    admin, roads = signed_in(staff_app, "admin"), signed_in(staff_app, "roads")
    assert tile(admin.get("/staff/dashboards/").get_data(as_text=True),
                "reports-overdue") == 2
    assert tile(roads.get("/staff/dashboards/").get_data(as_text=True),
                "reports-overdue") == 1
    by_category = {r["category"]: (r["overdue"], r["open"]) for r in rows_of(roads, "reports-overdue")}
    assert by_category["倒木"] == (1, 1) and by_category["道路"] == (0, 1)
    assert by_category["不法投棄"] == (0, 0)  # another department's report
    everything = {r["category"]: r["overdue"] for r in rows_of(admin, "reports-overdue")}
    assert everything["不法投棄"] == 1
    assert roads.get("/staff/dashboards/reports-overdue").status_code == 200
    csv_text = roads.get("/staff/dashboards/reports-overdue.csv").get_data(as_text=True)
    assert "倒木,1,1" in csv_text
    assert signed_in(staff_app, "central").get("/staff/api/dashboards/reports-overdue") \
        .status_code == 403


def test_disaster_mode_lists_todays_reports_by_district_and_status(staff_app):
    city = City()
    today = city.today(utcnow())
    file_direct(staff_app, "disaster", when=city.at(today, "00:05"))
    file_direct(staff_app, "disaster", point=INSIDE_HACHIYA, when=city.at(today, "00:10"))
    file_direct(staff_app, "dumping", point=INSIDE_HACHIYA, when=city.at(today, "00:15"))
    file_direct(staff_app, "road", point=INSIDE,  # yesterday in Japan: not counted
                when=city.at(today - timedelta(days=1), "23:55"))
    admin, roads = signed_in(staff_app, "admin"), signed_in(staff_app, "roads")
    assert "reports-disaster" not in admin.get("/staff/dashboards/").get_data(as_text=True)
    assert admin.post("/staff/reports/disaster", {"on": "y"}).status_code == 302
    assert tile(admin.get("/staff/dashboards/").get_data(as_text=True),
                "reports-disaster") == 3
    assert tile(roads.get("/staff/dashboards/").get_data(as_text=True),
                "reports-disaster") == 2
    rows = rows_of(admin, "reports-disaster")
    counted = sorted((r["district"], r["status"], r["count"]) for r in rows)
    assert sum(n for _d, _s, n in counted) == 3
    assert len({s for _d, s, _n in counted}) == 1  # all received
    assert len({d for d, _s, _n in counted}) == 2  # two districts
    hachiya = [r for r in rows_of(roads, "reports-disaster") if r["count"] == 1]
    assert len(hachiya) == 2  # the roads department: one disaster report in each district
    assert admin.post("/staff/reports/disaster", {}).status_code == 302
    assert "reports-disaster" not in admin.get("/staff/dashboards/").get_data(as_text=True)
