"""Staff side of reports: department scoping on pages, JSON and exports; status change with
one push; pass (audited); merge; overdue; GeoJSON checked by parsing and geometry; Open311
field by field."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from cityhall.db import db
from models import OutboxMessage, Resident, utcnow
from models.report import Report, ReportStatus
from reports.geo import load_boundary
from tests.reports_support import INSIDE, INSIDE_HACHIYA, file_direct, gps_jpeg
from tests.staff_support import StaffClient, audit_actions, staff_app  # noqa: F401

OPEN311_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"}


def signed_in(app, username: str) -> StaffClient:
    client = StaffClient(app)
    assert client.login(username).status_code == 302
    return client


def arrange(app) -> dict[str, int]:
    """A road report (roads department) with a reporter, and a dumping one (citizens)."""
    with app.app_context(), db.transaction() as session:
        session.add(Resident(line_user_id="Ureporter", language="ja", display_name="通報 太郎"))
    return {"road": file_direct(app, "road", user_id="Ureporter"),
            "dumping": file_direct(app, "dumping", point=INSIDE_HACHIYA)}


def test_department_staff_see_only_their_reports_everywhere(staff_app):
    ids = arrange(staff_app)
    roads, admin = signed_in(staff_app, "roads"), signed_in(staff_app, "admin")
    assert roads.get(f"/staff/reports/{ids['road']}").status_code == 200
    assert roads.get(f"/staff/reports/{ids['dumping']}").status_code == 404
    assert admin.get(f"/staff/reports/{ids['dumping']}").status_code == 200
    markers = roads.get("/staff/api/reports/map").get_json()["reports"]
    assert [m[0] for m in markers] == [ids["road"]]
    assert len(admin.get("/staff/api/reports/map").get_json()["reports"]) == 2
    rows = list(csv.DictReader(io.StringIO(
        roads.get("/staff/reports/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["category"] for r in rows] == ["road"]
    features = roads.get("/staff/reports/export.geojson").get_json()["features"]
    assert [f["properties"]["category"] for f in features] == ["road"]
    assert signed_in(staff_app, "central").get("/staff/reports/").status_code == 403


def test_the_reporter_is_shown_only_on_the_audited_detail_page(staff_app):
    ids = arrange(staff_app)
    roads = signed_in(staff_app, "roads")
    assert "通報 太郎" in roads.get(f"/staff/reports/{ids['road']}").get_data(as_text=True)
    assert "report.view" in audit_actions(staff_app)
    for path in ("/staff/api/reports/map", "/staff/reports/export.csv",
                 "/staff/reports/export.geojson", "/staff/reports/"):
        body = roads.get(path).get_data(as_text=True)
        assert "通報 太郎" not in body and "Ureporter" not in body and "穴" not in body


def test_map_filters_by_category_status_and_date(staff_app):
    ids = arrange(staff_app)
    admin = signed_in(staff_app, "admin")
    only = admin.get("/staff/api/reports/map?category=dumping").get_json()["reports"]
    assert [m[0] for m in only] == [ids["dumping"]]
    assert admin.get("/staff/api/reports/map?status=done").get_json()["reports"] == []
    future = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    assert admin.get(f"/staff/api/reports/map?from={future}").get_json()["reports"] == []
    assert admin.get("/staff/api/reports/map?department=citizens").get_json()["reports"][0][0] \
        == ids["dumping"]


def test_status_change_pushes_once_and_pass_is_audited(staff_app):
    ids = arrange(staff_app)
    roads = signed_in(staff_app, "roads")
    path = f"/staff/reports/{ids['road']}"
    response = roads.post(path + "/status", {"st-status": "in_progress",
                                             "st-public_comment": "明日補修します",
                                             "st-internal_note": "業者A"})
    assert response.status_code == 302
    roads.post(path + "/status", {"st-status": "in_progress"})  # nothing changed: no push
    with staff_app.app_context(), db.session() as session:
        pushes = session.scalars(select(OutboxMessage)).all()
        assert len(pushes) == 1 and pushes[0].recipients == ["Ureporter"]
        assert "明日補修します" in pushes[0].messages[0]["text"]
        assert "業者A" not in json.dumps(pushes[0].messages, ensure_ascii=False)
    refused = roads.post(path + "/status", {"st-status": "not_ours"})
    assert refused.status_code == 400
    assert roads.post(path + "/pass", {"pa-department": "citizens"}).status_code == 302
    assert "report.pass" in audit_actions(staff_app)
    assert roads.get(path).status_code == 404  # now the citizens department's


def test_merge_from_the_page(staff_app):
    first = file_direct(staff_app, "road")
    second = file_direct(staff_app, "road", point=INSIDE_HACHIYA)
    roads = signed_in(staff_app, "roads")
    assert roads.post(f"/staff/reports/{second}/merge", {"me-keep": "R-2026-999999"}) \
        .status_code == 400
    assert roads.post(f"/staff/reports/{second}/merge", {"me-keep": "R-2026-000001"}) \
        .status_code == 302
    with staff_app.app_context(), db.session() as session:
        merged = session.get(Report, second)
        assert merged.status == ReportStatus.MERGED and merged.duplicate_of_id == first


def test_overdue_reports_are_highlighted_and_counted(staff_app):
    file_direct(staff_app, "tree", when=utcnow() - timedelta(days=5))  # target 3 days
    file_direct(staff_app, "road", point=INSIDE_HACHIYA)
    admin = signed_in(staff_app, "admin")
    rows = admin.get("/staff/api/reports/map").get_json()["reports"]
    assert sorted(r[5] for r in rows) == [False, True]
    assert "1" in admin.get("/staff/reports/").get_data(as_text=True).split("overdue-count")[1][:40]


def test_geojson_export_parses_and_its_points_are_in_the_city(staff_app):
    arrange(staff_app)
    body = signed_in(staff_app, "admin").get("/staff/reports/export.geojson")
    assert body.mimetype == "application/geo+json"
    data = json.loads(body.get_data(as_text=True))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 2
    city = load_boundary()
    for feature in data["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90 and city.contains(lat, lon)
        assert not {"resident_id", "comment", "contact_ok", "reporter"} & feature["properties"].keys()
    assert [INSIDE[1], INSIDE[0]] in [f["geometry"]["coordinates"] for f in data["features"]]


def test_open311_reads_follow_the_spec_field_by_field(staff_app):
    public = file_direct(staff_app, "road", public=True)
    file_direct(staff_app, "dumping", point=INSIDE_HACHIYA)  # not approved: never listed
    client = staff_app.test_client()
    services = client.get("/open311/v2/services.json").get_json()
    assert {s["service_code"] for s in services} >= {"road", "park", "streetlight", "tree",
                                                     "dumping", "disaster", "other"}
    for s in services:
        assert set(s) == {"service_code", "service_name", "description", "metadata", "type",
                          "keywords", "group"} and s["type"] == "realtime"
    definition = client.get("/open311/v2/services/disaster.json").get_json()
    assert definition["service_code"] == "disaster"
    assert [a["code"] for a in definition["attributes"]] == ["injured", "passable"]
    assert client.get("/open311/v2/services/nope.json").status_code == 404
    listed = client.get("/open311/v2/requests.json").get_json()
    assert len(listed) == 1
    request = listed[0]
    assert set(request) == OPEN311_FIELDS
    assert request["service_request_id"] == "R-2026-000001" and request["status"] == "open"
    assert request["service_code"] == "road" and request["service_name"] == "道路"
    assert request["agency_responsible"] == "土木課" and request["description"] == "穴"
    assert (request["lat"], request["long"]) == INSIDE and request["media_url"] is None
    assert request["requested_datetime"].endswith("+09:00")
    one = client.get("/open311/v2/requests/R-2026-000001.json").get_json()
    assert one == listed
    assert client.get("/open311/v2/requests/R-2026-000002.json").status_code == 404
    assert client.get("/open311/v2/requests.json?status=closed").get_json() == []
    assert client.get("/open311/v2/requests.json?service_code=park").get_json() == []
    assert client.get("/open311/v2/requests.json?status=bogus").status_code == 400
    with staff_app.app_context(), db.transaction() as session:
        report = session.get(Report, public)
        assert not {"Ureporter"} & set(json.dumps(one))


def test_open311_post_needs_an_api_key_and_a_point_in_the_city(staff_app):
    client = staff_app.test_client()
    form = {"service_code": "road", "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
            "description": "穴があります"}
    assert client.post("/open311/v2/requests.json", data=form).status_code == 403
    staff_app.config["OPEN311_API_KEYS"] = "partner-key"
    created = client.post("/open311/v2/requests.json", data={**form, "api_key": "partner-key"})
    assert created.status_code == 201
    assert created.get_json()[0]["service_request_id"].startswith("R-")
    outside = client.post("/open311/v2/requests.json",
                          data={**form, "api_key": "partner-key", "lat": "35.0"})
    assert outside.status_code == 400 and outside.get_json()[0]["code"] == 400


def test_media_url_appears_only_once_staff_publish_and_carries_no_exif(staff_app):
    from PIL import Image

    report = file_direct(staff_app, "road", photo=gps_jpeg())
    client = staff_app.test_client()
    assert client.get("/open311/v2/requests.json").get_json() == []
    assert client.get("/open311/v2/media/R-2026-000001.jpg").status_code == 404
    roads = signed_in(staff_app, "roads")
    assert roads.post(f"/staff/reports/{report}/publish", {"pu-public": "y"}).status_code == 302
    listed = client.get("/open311/v2/requests.json").get_json()
    assert listed[0]["media_url"] == "http://localhost/open311/v2/media/R-2026-000001.jpg"
    photo = client.get("/open311/v2/media/R-2026-000001.jpg")
    assert photo.mimetype == "image/jpeg" and b"SecretCam" not in photo.data
    assert not Image.open(io.BytesIO(photo.data)).getexif()
    assert roads.post(f"/staff/reports/{report}/publish", {}).status_code == 302
    assert client.get("/open311/v2/media/R-2026-000001.jpg").status_code == 404
    assert "report.publish" in audit_actions(staff_app)


def test_admin_routes_a_category_and_switches_disaster_mode(staff_app):
    ids = arrange(staff_app)
    admin = signed_in(staff_app, "admin")
    assert admin.post("/staff/reports/categories/road", {
        "c1-department": "citizens", "c1-target_days": "5"}).status_code == 302
    assert "report_category.update" in audit_actions(staff_app)
    assert admin.post("/staff/reports/categories/road", {
        "c1-department": "citizens", "c1-target_days": "0"}).status_code == 400
    assert signed_in(staff_app, "roads").get("/staff/reports/categories").status_code == 403
    assert "data-config" in admin.get("/staff/reports/").get_data(as_text=True)
    assert admin.post("/staff/reports/disaster", {"on": "y"}).status_code == 302
    page = admin.get("/staff/reports/").get_data(as_text=True)
    assert "district-counts" in page and "&#34;refresh&#34;: 15" in page
    assert ids["road"]  # the report filed before the change keeps its department
    with staff_app.app_context(), db.session() as session:
        assert session.get(Report, ids["road"]).department_id != \
            session.get(Report, ids["dumping"]).department_id


def test_the_map_body_is_cached_and_changes_with_reports_scope_filters_and_target_days(staff_app):
    ids = arrange(staff_app)
    admin, roads = signed_in(staff_app, "admin"), signed_in(staff_app, "roads")
    first = admin.get("/staff/api/reports/map")
    etag = first.headers["ETag"].strip('"')
    assert first.get_json()["fields"] == ["id", "lat_e6", "lon_e6", "status", "category",
                                          "overdue", "receipt"]
    lat_e6, lon_e6 = first.get_json()["reports"][0][1:3]
    assert (lat_e6, lon_e6) == (round(INSIDE[0] * 1e6), round(INSIDE[1] * 1e6))
    again = admin.get("/staff/api/reports/map", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.get_data() == b""
    assert admin.get("/staff/api/reports/map").get_data() == first.get_data()  # from the cache
    # Another scope and another filter are other bodies.
    assert roads.get("/staff/api/reports/map").headers["ETag"] != first.headers["ETag"]
    assert admin.get("/staff/api/reports/map?category=road").headers["ETag"] != \
        first.headers["ETag"]
    # A status change is seen at once, even by a browser holding the old body.
    assert roads.post(f"/staff/reports/{ids['road']}/status",
                      {"st-status": "in_progress"}).status_code == 302
    changed = admin.get("/staff/api/reports/map", headers={"If-None-Match": f'"{etag}"'})
    assert changed.status_code == 200
    assert {r[0]: r[3] for r in changed.get_json()["reports"]}[ids["road"]] == "in_progress"
    # Target days changed by an admin turn a report overdue without touching it.
    assert [r[5] for r in changed.get_json()["reports"]] == [0, 0]
    with staff_app.app_context(), db.transaction() as session:
        session.get(Report, ids["dumping"]).created_at = utcnow() - timedelta(days=3)
        session.get(Report, ids["dumping"]).updated_at = changed_at = utcnow() - timedelta(days=3)
    assert changed_at  # the change keeps an old updated_at: only the target days move
    before = admin.get("/staff/api/reports/map").get_json()["reports"]
    assert admin.post("/staff/reports/categories/dumping", {
        "c5-department": "citizens", "c5-target_days": "2"}).status_code == 302
    after = admin.get("/staff/api/reports/map").get_json()["reports"]
    assert {r[0]: r[5] for r in after}[ids["dumping"]] == 1 != \
        {r[0]: r[5] for r in before}[ids["dumping"]]


def test_demo_data_holds_fifty_reports_with_photos_in_every_state(staff_app):
    from cityhall.city import City
    from reports import demo

    with staff_app.app_context(), db.transaction() as session:
        now = utcnow()
        assert demo.fill(session, now, load_boundary(), City().today(now).year) == 50
        assert demo.fill(session, now, load_boundary(), City().today(now).year) == 0  # once
    with staff_app.app_context(), db.session() as session:
        reports = session.scalars(select(Report)).all()
        assert len(reports) == 50 and all(r.photos for r in reports)
        assert {r.status for r in reports} == set(ReportStatus)
        merged = next(r for r in reports if r.status == ReportStatus.MERGED)
        assert merged.duplicate_of_id is not None and not merged.public
