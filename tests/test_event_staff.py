"""Events for staff: `cityhall events create|list`, the pages (create a weekly series, edit,
cancel, reservation list, manual add, CSV and Excel), scope, audit, and the dashboards'
figures against hand-computed expectations."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import openpyxl
from sqlalchemy import select

from cityhall.city import current_city
from cityhall.db import db
from events import services
from models import Center, OutboxMessage, utcnow
from models.event import Event, Reservation, ReservationChild, WaitlistEntry
from tests.events_support import event_row, household, make_event, reservations
from tests.staff_support import StaffClient, audit_actions, staff_app  # noqa: F401


# The command line (the contract in docs/design.md)


def test_events_create_prints_the_id_and_list_prints_json(staff_app):
    cli = staff_app.test_cli_runner()
    result = cli.invoke(args=["events", "create", "--center", "central", "--title", "親子ヨガ",
                              "--starts", "2027-01-10T10:00", "--ends", "2027-01-10T11:30",
                              "--capacity", "8", "--unit", "families", "--min-age-months", "6",
                              "--max-age-months", "23", "--closes", "2027-01-09T17:00"])
    assert result.exit_code == 0, result.output
    event_id = int(result.output.strip().splitlines()[-1])
    listed = cli.invoke(args=["events", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output.strip().splitlines()[-1])
    assert {k: row[k] for k in ("id", "title", "starts", "capacity", "reserved", "waiting")} == {
        "id": event_id, "title": "親子ヨガ", "starts": "2027-01-10T01:00:00+00:00",
        "capacity": 8, "reserved": 0, "waiting": 0}
    with staff_app.app_context(), db.session() as session:
        event = session.get(Event, event_id)
        assert (event.unit, event.min_age_months, event.max_age_months) == ("families", 6, 23)
        assert current_city().local(event.closes_at).strftime("%d %H:%M") == "09 17:00"


def test_events_create_refuses_bad_input_with_a_clear_message(staff_app):
    cli = staff_app.test_cli_runner()
    base = ["events", "create", "--center", "central", "--title", "T", "--starts",
            "2027-01-10T10:00", "--ends", "2027-01-10T11:00", "--capacity", "3", "--unit",
            "children"]
    for change, message in (({"--center": "nowhere"}, "unknown center 'nowhere'"),
                            ({"--starts": "tomorrow"}, "is not an ISO date-time"),
                            ({"--ends": "2027-01-10T09:00"}, "an event ends after it starts"),
                            ({"--capacity": "0"}, "0 is not in the range x>=1"),
                            ({"--unit": "people"}, "'people' is not one of")):
        args = list(base)
        for key, value in change.items():
            args[args.index(key) + 1] = value
        result = cli.invoke(args=args)
        assert result.exit_code != 0 and message in result.output, result.output


# Staff pages


def signed_in(app, username: str = "admin") -> StaffClient:
    client = StaffClient(app)
    assert client.login(username).status_code == 302
    return client


def test_staff_create_a_weekly_series_and_see_it_listed(staff_app):
    client = signed_in(staff_app)
    day = date.today() + timedelta(days=10)
    response = client.post("/staff/events/new", data={
        "center": "central", "title_ja": "ベビーマッサージ", "title_en": "Baby massage",
        "day": day.isoformat(), "start": "10:00", "end": "11:00", "capacity": "6",
        "unit": "children", "min_age_months": "2", "max_age_months": "11",
        "districts": ["ota", "furui"], "weeks": "3"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with staff_app.app_context(), db.session() as session:
        events = session.scalars(select(Event).order_by(Event.starts_at)).all()
        assert len(events) == 3 and len({e.series for e in events}) == 1
        assert [(e.starts_at - events[0].starts_at).days for e in events] == [0, 7, 14]
        assert events[0].districts == ["ota", "furui"]
    assert "event.create" in audit_actions(staff_app)
    page = client.get("/staff/events/").get_data(as_text=True)
    assert page.count("ベビーマッサージ") == 3


def test_bad_event_forms_say_why(staff_app):
    client = signed_in(staff_app)
    response = client.post("/staff/events/new", data={
        "center": "central", "title_ja": "", "day": "2027-01-10", "start": "11:00",
        "end": "10:00", "capacity": "0", "unit": "children", "min_age_months": "12",
        "max_age_months": "6"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in ("タイトルを入力してください。", "終了は開始より後にしてください。",
                    "上限が下限より小さくなっています。"):
        assert message in html


def test_center_staff_see_only_their_centers_events(staff_app):
    mine, other = make_event(staff_app, "central"), make_event(staff_app, "east")
    client = signed_in(staff_app, "central")
    assert client.get(f"/staff/events/{mine}/").status_code == 200
    assert client.get(f"/staff/events/{other}/").status_code == 404
    assert client.get(f"/staff/events/{other}/reservations.csv").status_code == 404
    assert client.post(f"/staff/events/{other}/cancel").status_code == 404
    assert "/staff/events/%d/" % other not in client.get("/staff/events/").get_data(as_text=True)


def test_reservation_list_manual_add_export_and_cancel(staff_app):
    event = make_event(staff_app, capacity=2)
    household(staff_app, ["U" + "1" * 32], [date(2024, 1, 20)], names=["一郎"])
    with staff_app.app_context(), db.transaction() as session:
        from models.household import Guardian
        guardian = session.scalars(select(Guardian)).one()
        services.reserve(session, event, guardian, None, utcnow(), city=current_city())
    client = signed_in(staff_app)
    response = client.post(f"/staff/events/{event}/reservations",
                           data={"name": "電話 花子", "places": "1"})
    assert response.status_code == 302
    response = client.post(f"/staff/events/{event}/reservations",
                           data={"name": "もう一人", "places": "1"})
    assert response.status_code == 400 and "枠が足りません（残り0）。" in response.get_data(
        as_text=True)
    page = client.get(f"/staff/events/{event}/").get_data(as_text=True)
    assert "電話 花子" in page and "一郎" in page and "職員が追加" in page
    rows = list(csv.reader(io.StringIO(client.get(
        f"/staff/events/{event}/reservations.csv").get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["一覧", "順番", "名前"]
    assert {r[2] for r in rows[1:]} == {"保護者11110", "電話 花子"}
    book = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/staff/events/{event}/reservations.xlsx").get_data()))
    assert book.active.max_row == 3
    added = [r["id"] for r in reservations(staff_app, event) if r["household"] is None]
    assert client.post(f"/staff/events/reservations/{added[0]}/attended").status_code == 302
    assert reservations(staff_app, event)[1]["attended"] is not None
    assert "出席" in client.get(f"/staff/events/{event}/").get_data(as_text=True)
    actions = audit_actions(staff_app)
    assert "event.reservation_add" in actions and "event.attendance" in actions
    assert actions.count("event_reservations.export") == 2
    assert client.post(f"/staff/events/{event}/cancel").status_code == 302
    assert "event.cancel" in audit_actions(staff_app)
    assert event_row(staff_app, event)["taken"] == 0
    with staff_app.app_context(), db.session() as session:
        sources = [m.source for m in session.scalars(select(OutboxMessage))]
    assert sources == [f"event-cancelled:{event}"]  # the family with LINE; the walk-in has none
    assert {r["status"] for r in reservations(staff_app, event)} == {"event_cancelled"}


def test_the_reservation_list_shows_each_familys_language(staff_app):
    """Staff see the language each family reads (its own name, marked with `lang`) on the
    reservation list, the waitlist and the exports; a walk-in without LINE has none."""
    event = make_event(staff_app, capacity=1)
    household(staff_app, ["U" + "2" * 32], [date(2024, 1, 20)], names=["アン"])
    household(staff_app, ["U" + "3" * 32], [date(2024, 2, 20)], names=["アナ"])
    with staff_app.app_context(), db.transaction() as session:
        from models import Resident
        from models.household import Guardian
        an, ana = session.scalars(select(Guardian).order_by(Guardian.id)).all()
        for guardian, code in ((an, "vi"), (ana, "pt-BR")):
            session.get(Resident, guardian.resident_id).language = code
        services.reserve(session, event, an, None, utcnow(), city=current_city())
        services.join_waitlist(session, event, ana, session.get(Resident, ana.resident_id),
                               utcnow(), city=current_city())
    client = signed_in(staff_app)
    with staff_app.app_context(), db.transaction() as session:
        session.get(Event, event).capacity = 2
    assert client.post(f"/staff/events/{event}/reservations",
                       data={"name": "電話 花子", "places": "1"}).status_code == 302
    page = client.get(f"/staff/events/{event}/").get_data(as_text=True)
    assert '<th scope="col">言語</th>' in page
    assert '<td lang="vi">Tiếng Việt</td>' in page and '<td lang="pt-BR">Português</td>' in page
    reserved = page[page.index('id="reservations"'):page.index('id="waitlist"')]
    assert "電話 花子" in reserved and "<td>—</td>" in reserved  # the walk-in: no LINE
    rows = list(csv.reader(io.StringIO(client.get(
        f"/staff/events/{event}/reservations.csv").get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["一覧", "順番", "名前", "言語"]
    assert {(r[2], r[3]) for r in rows[1:]} == {("保護者22220", "Tiếng Việt"),
                                                ("電話 花子", "—"), ("保護者33330", "Português")}


def test_editing_the_capacity_offers_the_new_place_to_the_waitlist(staff_app):
    event = make_event(staff_app, capacity=1)
    users = ["U" + "2" * 32, "U" + "3" * 32]
    for user in users:
        household(staff_app, [user], [date(2024, 1, 20)])
    with staff_app.app_context(), db.transaction() as session:
        from models.household import Guardian
        for guardian in session.scalars(select(Guardian).order_by(Guardian.id)):
            services.reserve(session, event, guardian, None, utcnow(), city=current_city())
    client = signed_in(staff_app)
    form = client.get(f"/staff/events/{event}/edit").get_data(as_text=True)
    assert 'value="親子リトミック"' in form
    with staff_app.app_context(), db.session() as session:
        e = session.get(Event, event)
        local = current_city().local(e.starts_at)
    data = {"center": "central", "title_ja": "親子リトミック", "day": local.date().isoformat(),
            "start": local.strftime("%H:%M"), "end": "23:59", "capacity": "2",
            "unit": "children"}
    assert client.post(f"/staff/events/{event}/edit", data=data).status_code == 302
    row = event_row(staff_app, event)
    assert row["taken"] == 2 and row["waiting"] == 1  # the second household holds an offer
    refused = client.post(f"/staff/events/{event}/edit", data={**data, "capacity": "1"})
    assert "定員は、予約済みまたは案内中の2枠より少なくできません。" in refused.get_data(as_text=True)


# Dashboards


def test_dashboard_figures_match_a_hand_computed_event(staff_app):
    """A past Saturday 10:00 event for 0-year-olds, four places: two children attended, one
    was a no-show; three households waited (one declined, one let its offer expire, one was
    still waiting at the start: all three at once at the peak)."""
    city_now = utcnow()
    with staff_app.app_context(), db.transaction() as session:
        city = current_city()
        today = city.today(city_now)
        saturday = today - timedelta(days=(today.weekday() - 5) % 7 or 7)
        start = city.at(saturday, "10:00")
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        event = Event(center_id=center.id, title_ja="0歳のひろば", starts_at=start,
                      ends_at=start + timedelta(hours=1), capacity=4, unit="children",
                      min_age_months=0, max_age_months=11, taken=3)
        session.add(event)
        session.flush()
        session.add_all([
            Reservation(event_id=event.id, places=2, guest_name="A", attended_at=start,
                        children=[ReservationChild(age_months=5), ReservationChild(age_months=9)]),
            Reservation(event_id=event.id, places=1, guest_name="B"),
            Reservation(event_id=event.id, places=1, guest_name="C", status="cancelled")])
        day = timedelta(days=1)
        session.add_all([
            WaitlistEntry(event_id=event.id, places=1, status="declined",
                          created_at=start - 5 * day, ended_at=start - 2 * day),
            WaitlistEntry(event_id=event.id, places=1, status="expired",
                          created_at=start - 4 * day, ended_at=start - 1 * day),
            WaitlistEntry(event_id=event.id, places=1, status="unmet",
                          created_at=start - 3 * day, ended_at=start)])
    client = signed_in(staff_app)
    window = f"?start={(saturday - timedelta(days=1)).isoformat()}&end={today.isoformat()}"
    data = client.get("/staff/api/dashboards/events" + window).get_json()
    [row] = [dict(zip(data["columns"], r, strict=True)) for r in data["rows"]]
    assert {k: row[k] for k in ("capacity", "reserved", "attended", "no_shows", "waitlist_peak",
                                "declined", "expired", "unmet")} == {
        "capacity": 4, "reserved": 3, "attended": 2, "no_shows": 1, "waitlist_peak": 3,
        "declined": 1, "expired": 1, "unmet": 1}
    assert data["labels"]["no_shows"] == "欠席"
    fill = client.get("/staff/api/dashboards/events-fill" + window).get_json()
    assert [dict(zip(fill["columns"], r, strict=True)) for r in fill["rows"]] == [
        {"weekday": "土曜日", "hour": 10, "events": 1, "fill": 75.0}]
    ages = client.get("/staff/api/dashboards/events-ages" + window).get_json()
    assert ages["rows"] == [["0歳", 1, 75.0, 1]]
    unmet = client.get("/staff/api/dashboards/events-suggestions" + window).get_json()
    assert [r[:5] for r in unmet["rows"]] == [["土曜日", "0歳", 1, 1, 1]]
    periods = client.get("/staff/api/dashboards/events-periods" + window + "&grain=month"
                         ).get_json()
    assert sum(r[periods["columns"].index("events")] for r in periods["rows"]) == 1
    download = client.get("/staff/dashboards/events.csv" + window)
    assert download.status_code == 200 and "欠席" in download.get_data().decode("utf-8-sig")
    assert "dashboard.export" in audit_actions(staff_app)
    center_staff = signed_in(staff_app, "central")
    assert center_staff.get("/staff/api/dashboards/events" + window + "&center=east"
                            ).status_code == 400
