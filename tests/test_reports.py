"""Citizen reports through the emulator: photo and place in either order, refusals, EXIF
stripped, the 50 m duplicate offer and following, one push per status change, reopening,
merging, and the geometry helpers."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from cityhall.db import db
from models import OutboxMessage, utcnow
from models.report import Report, ReportDraft, ReportFollower, ReportStatus
from reports import photos, services
from reports.geo import distance_m, load_boundary, parse_boundary
from tests.chat import Resident
from tests.flows_helpers import seed_city
from tests.reports_support import (INSIDE, INSIDE_HACHIYA, OUTSIDE, RECEIPT, drain, file_direct,
                                   gps_jpeg, report_by_receipt, tap_category, tap_data)


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    return live_app


def newcomer(line) -> Resident:
    person = Resident(line)
    person.follow()
    return person


def receipt_of(person: Resident) -> str:
    found = RECEIPT.search(person.last())
    assert found, person.last()
    return found.group(0)


def finish(person: Resident, comment: str | None = "歩道に穴", contact: bool = True) -> str:
    """Answer the comment and contact questions; return the receipt number."""
    if comment:
        person.say(comment)
    else:
        tap_data(person, "rp.ans:comment:skip")
    tap_data(person, f"rp.ans:contact:{'yes' if contact else 'no'}")
    return receipt_of(person)


def test_photo_first_then_location_files_a_report_without_exif(city, app, line):
    person = newcomer(line)
    person.send_image(gps_jpeg())  # a photo with nothing running starts a report
    tap_category(person, "road")
    person.send_location(*INSIDE, address="岐阜県美濃加茂市太田町3431-1")
    receipt = finish(person)
    with app.app_context(), db.session() as session:
        report = report_by_receipt(session, receipt)
        assert report.category.code == "road" and report.status == ReportStatus.RECEIVED
        assert (report.latitude, report.longitude) == INSIDE and report.contact_ok
        assert report.comment == "歩道に穴" and report.district_code == "ota"
        assert report.resident_id is not None and len(report.photos) == 1
        stored = report.photos[0].data
        image = Image.open(io.BytesIO(stored))
        assert image.format == "JPEG" and not image.getexif() and not image.info.get("exif")
        assert b"SecretCam" not in stored and b"PhoneMaker" not in stored
        assert session.scalar(select(func.count()).select_from(ReportDraft)) == 0


def test_menu_category_location_then_four_photos_and_a_fifth_refused(city, app, line):
    person = newcomer(line)
    person.menu("report")
    tap_category(person, "park")
    person.send_location(*INSIDE_HACHIYA, address="蜂屋町")
    for _ in range(4):
        person.send_image(gps_jpeg(colour=(10, 200, 10)))
    person.send_image(gps_jpeg())
    receipt = finish(person, comment=None, contact=False)
    with app.app_context(), db.session() as session:
        report = report_by_receipt(session, receipt)
        assert len(report.photos) == 4 and not report.contact_ok and report.comment is None


def test_typed_address_is_placed_at_its_district(city, app, line):
    person = newcomer(line)
    person.menu("report")
    tap_category(person, "streetlight")
    person.say("渋谷区道玄坂1-2")  # not a district of the city: asked again
    assert any("美濃加茂市" in text for text in person.texts()[-2:])
    person.say("蜂屋町2-3の交差点")
    person.send_image(gps_jpeg())
    receipt = finish(person)
    with app.app_context(), db.session() as session:
        report = report_by_receipt(session, receipt)
        assert report.details["approximate"] is True and report.district_code == "hachiya"
        assert report.address == "蜂屋町2-3の交差点"


def test_a_place_outside_the_city_is_refused_naming_the_city(city, app, line):
    person = newcomer(line)
    person.menu("report")
    tap_category(person, "road")
    person.send_location(*OUTSIDE, address="岐阜市")
    assert any("美濃加茂市" in text for text in person.texts()[-2:])
    with app.app_context(), db.session() as session:
        draft = session.scalars(select(ReportDraft)).one()
        assert "latitude" not in draft.data and draft.step == "collect"


@pytest.mark.parametrize("content", [b"%PDF-1.4 not a photo", b"\xff\xd8\xff\xe0 broken jpeg",
                                     b"GIF89a"])
def test_a_file_that_is_not_a_photo_is_refused(city, app, line, content):
    person = newcomer(line)
    person.menu("report")
    tap_category(person, "road")
    person.line.send_image(person.user_id, content, "image/jpeg")
    with app.app_context(), db.session() as session:
        assert session.scalars(select(ReportDraft)).one().photo_ids == []


def test_an_oversized_photo_is_refused(city, app, line, monkeypatch):
    monkeypatch.setattr(photos, "MAX_UPLOAD_BYTES", 20_000)
    big = gps_jpeg(size=(1500, 1500))
    assert len(big) > 20_000
    person = newcomer(line)
    person.menu("report")
    tap_category(person, "road")
    person.send_image(big)
    with app.app_context(), db.session() as session:
        assert session.scalars(select(ReportDraft)).one().photo_ids == []
    with pytest.raises(photos.PhotoRefused) as refused:
        photos.clean(big)
    assert refused.value.reason == "too_large"


def test_cancel_drops_the_draft(city, app, line):
    person = newcomer(line)
    person.menu("report")
    tap_category(person, "road")
    person.say("キャンセル")
    with app.app_context(), db.session() as session:
        assert session.scalar(select(func.count()).select_from(ReportDraft)) == 0


def report_one(line, code="road", point=INSIDE) -> tuple[Resident, str]:
    person = newcomer(line)
    person.menu("report")
    tap_category(person, code)
    person.send_location(*point, address="太田町")
    person.send_image(gps_jpeg())
    return person, finish(person)


def updates(person: Resident) -> list[str]:
    return [t for t in person.texts() if "R-" in t and ("状況" in t or "Update" in t
                                                        or "更新" in t)]


def staff_change(app, receipt: str, status: ReportStatus, comment: str | None = "対応します",
                 passed_to: str | None = None) -> bool:
    with app.app_context(), db.transaction() as session:
        report = services.lock(session, report_by_receipt(session, receipt).id)
        return services.change_status(session, report, status, utcnow(), by="roads",
                                      public_comment=comment, passed_to=passed_to)


def test_duplicate_offer_follow_and_one_push_per_change_then_reopen(city, app, line):
    reporter, receipt = report_one(line)
    neighbour = newcomer(line)
    neighbour.menu("report")
    tap_category(neighbour, "road")
    nearby = (INSIDE[0] + 0.0002, INSIDE[1])  # about 22 m north
    neighbour.send_location(*nearby, address="太田町")
    neighbour.send_image(gps_jpeg())
    tap_data(neighbour, "rp.ans:comment:skip")
    tap_data(neighbour, "rp.ans:contact:no")
    assert receipt in neighbour.last() and "50" in neighbour.last()
    tap_data(neighbour, "rp.follow:")
    assert receipt in neighbour.last()
    with app.app_context(), db.session() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 1
        assert session.scalar(select(func.count()).select_from(ReportFollower)) == 1

    assert staff_change(app, receipt, ReportStatus.IN_PROGRESS)
    assert not staff_change(app, receipt, ReportStatus.IN_PROGRESS, comment=None)
    assert staff_change(app, receipt, ReportStatus.DONE, comment="補修しました")
    drain(app)
    drain(app)  # a second drain delivers nothing twice
    for person in (reporter, neighbour):
        got = updates(person)
        assert len(got) == 2, got
        assert "対応します" in got[0] and "補修しました" in got[1]

    reporter.say("通報一覧")
    assert receipt in reporter.last()
    tap_data(reporter, "rp.reopen:")
    reporter.say("まだ穴があいています")
    reporter.send_image(gps_jpeg())
    assert receipt in reporter.last()
    with app.app_context(), db.session() as session:
        report = report_by_receipt(session, receipt)
        assert report.status == ReportStatus.RECEIVED and report.closed_at is None
        assert [p.kind for p in report.photos] == ["report", "reopen"]
        assert report.changes[-1].kind == "reopen"
    drain(app)  # the follower hears of it once; the reporter, who reopened it, was answered
    assert len(updates(reporter)) == 2
    got = updates(neighbour)
    assert len(got) == 3 and receipt in got[2] and "再開" in got[2]
    assert "まだ穴があいています" not in got[2]  # the reason stays with the city


def test_reopening_is_refused_after_14_days(city, app, line):
    reporter, receipt = report_one(line)
    staff_change(app, receipt, ReportStatus.DONE)
    with app.app_context(), db.transaction() as session:
        report = report_by_receipt(session, receipt)
        report.closed_at = utcnow() - timedelta(days=15)
        with pytest.raises(services.ReportRefused):
            services.reopen(session, report, session.get(
                __import__("models").Resident, report.resident_id), "まだ", utcnow())
    reporter.say("通報一覧")
    assert not any(a["data"].startswith("rp.reopen") for a in reporter.quick_replies()
                   if a.get("type") == "postback")


def test_merge_moves_reporter_and_followers_to_the_kept_report(city, app, line):
    first, kept_receipt = report_one(line, point=INSIDE)
    second, dup_receipt = report_one(line, point=INSIDE_HACHIYA)
    with app.app_context(), db.transaction() as session:
        duplicate = services.lock(session, report_by_receipt(session, dup_receipt).id)
        keep = report_by_receipt(session, kept_receipt)
        assert services.merge(session, duplicate, keep, utcnow(), by="roads") == 1
    staff_change(app, kept_receipt, ReportStatus.IN_PROGRESS, comment="作業中です")
    drain(app)
    assert any(kept_receipt in t and dup_receipt in t for t in second.texts())
    assert any(kept_receipt in t and "作業中です" in t for t in second.texts())
    assert any(kept_receipt in t and "作業中です" in t for t in first.texts())
    with app.app_context(), db.session() as session:
        pushes = session.scalars(select(OutboxMessage)).all()
        assert sum(second.user_id in p.recipients for p in pushes) == 2  # merged + update


def test_disaster_mode_puts_damage_first_with_its_questions(city, app, line):
    with app.app_context(), db.transaction() as session:
        services.set_disaster_mode(session, True, utcnow())
    person = newcomer(line)
    person.menu("report")
    first = [a for a in person.quick_replies() if a.get("type") == "postback"][0]
    assert first["data"] == "rp.cat:disaster"
    tap_category(person, "disaster")
    tap_data(person, "rp.ans:injured:yes")
    tap_data(person, "rp.ans:passable:no")
    person.send_image(gps_jpeg())
    person.send_location(*INSIDE, address="太田町")
    receipt = finish(person)
    with app.app_context(), db.session() as session:
        assert report_by_receipt(session, receipt).details == {"injured": True,
                                                               "passable": False,
                                                               "approximate": False}


def test_geometry_boundary_and_distances():
    city = load_boundary()
    assert city.contains(*INSIDE) and not city.contains(*OUTSIDE)
    assert city.name("ja") == "美濃加茂市"
    # One arc-second of latitude is about 30.9 m.
    assert distance_m(35.0, 137.0, 35.0 + 1 / 3600, 137.0) == pytest.approx(30.87, abs=0.05)
    holed = parse_boundary({"type": "Polygon", "coordinates": [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]]})
    assert holed.contains(1, 1) and not holed.contains(5, 5) and not holed.contains(11, 5)


def test_two_staff_closing_at_once_push_once(app, line):
    """Both take the row lock in turn; the second sees "done" already and pushes nothing."""
    import threading

    seed_city(app)
    with app.app_context(), db.transaction() as session:
        session.add(__import__("models").Resident(line_user_id="Urace", language="ja"))
    report_id = file_direct(app, "road", user_id="Urace")
    barrier, results = threading.Barrier(2), []

    def close() -> None:
        with app.app_context(), db.transaction() as session:
            barrier.wait()
            report = services.lock(session, report_id)
            results.append(services.change_status(session, report, ReportStatus.DONE, utcnow(),
                                                  by="roads"))

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, True]
    with app.app_context(), db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_erasing_a_registration_unlinks_reports_follows_and_drafts(city, app, line):
    reporter, receipt = report_one(line)
    other = file_direct(app, "park", point=INSIDE_HACHIYA)
    with app.app_context(), db.transaction() as session:
        from models import Resident as ResidentRow
        from residents.services import delete_registration

        resident = session.scalars(select(ResidentRow).where(
            ResidentRow.line_user_id == reporter.user_id)).one()
        services.follow(session, session.get(Report, other), resident, utcnow())
        delete_registration(session, resident, utcnow())
    with app.app_context(), db.session() as session:
        report = report_by_receipt(session, receipt)
        assert report.resident_id is None and not report.contact_ok
        assert session.scalar(select(func.count()).select_from(ReportFollower)) == 0
