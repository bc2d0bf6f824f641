"""Events through the emulator: the carousel, eligibility by age at the event date and district,
reserving in one or two taps, cancelling and its deadline, the waitlist, offers passed along a
chain of five households with a controlled `now`, cancelled events, reminders, attendance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from checkin import services as checkin
from cityhall.city import current_city
from cityhall.db import db
from events import services
from events.buttons import Reserve, Wait
from models import Center, Resident, utcnow
from models.event import Event, Reservation
from models.household import Guardian
from models.visit import Visit
from residents.services import delete_registration
from tests.checkin_support import open_all_day, scan_text
from tests.events_support import (actions, bubble_titles, drain, event_row, last_flex,
                                  make_event, member, press, pushes, reservations, run,
                                  waitlist)
from tests.flows_helpers import seed_city


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    open_all_day(app)
    return live_app


# Eligibility and the carousel


def test_eligibility_counts_age_at_the_event_date_and_the_district(city, app, line):
    with app.app_context():
        today = current_city().today(utcnow())
    # 11 months today, 12 months on the event's day (the birthday falls in between).
    born = today + timedelta(days=2) - timedelta(days=365)
    person, _household = member(line, app, [born], district="ota", names=["ハナ"])
    make_event(app, days=3, title_ja="1歳のひろば", min_age_months=12, max_age_months=23)
    make_event(app, days=3, title_ja="0歳のひろば", max_age_months=11)
    make_event(app, days=3, title_ja="蜂屋地区の会", districts=["hachiya"])
    make_event(app, days=4, title_ja="太田地区の会", districts=["ota", "furui"])
    person.menu("events")
    titles = bubble_titles(last_flex(person))
    assert titles == ["1歳のひろば", "太田地区の会"]


def test_carousel_shows_date_place_places_left_and_children_soonest_first(city, app, line):
    person, _ = member(line, app, [date(2024, 1, 20), date(2022, 5, 3)], names=["太郎", "花子"])
    later = make_event(app, days=5, title_ja="あとの会", capacity=3)
    make_event(app, days=2, title_ja="さきの会", capacity=2, max_age_months=40)
    person.menu("events")
    flex = last_flex(person)
    assert bubble_titles(flex) == ["さきの会", "あとの会"]
    first = [c["text"] for c in flex["contents"]["contents"][0]["body"]["contents"]]
    assert "中央子育て支援センター" in first and "残り2枠" in first and "対象：太郎" in first
    second = [c["text"] for c in flex["contents"]["contents"][1]["body"]["contents"]]
    assert "対象：太郎、花子" in second
    assert event_row(app, later)["taken"] == 0


def test_at_most_twelve_bubbles_then_more(city, app, line):
    person, _ = member(line, app)
    for n in range(14):
        make_event(app, days=2 + n, title_ja=f"会{n:02d}")
    person.menu("events")
    flex = last_flex(person)
    assert len(flex["contents"]["contents"]) == 12
    assert bubble_titles(flex)[0] == "会00"
    press(person, "ほかのイベント")
    assert bubble_titles(last_flex(person)) == ["会12", "会13"]


# Reserving and cancelling


def test_reserve_all_eligible_children_in_one_tap(city, app, line):
    person, household = member(line, app, [date(2024, 1, 20), date(2022, 5, 3)],
                               names=["太郎", "花子"])
    event = make_event(app, capacity=5)
    person.menu("events")
    press(person, "全員で予約")
    assert person.last().startswith("予約しました：親子リトミック")
    assert "太郎、花子" in person.last()
    [booked] = reservations(app, event)
    assert booked["household"] == household and booked["places"] == 2
    assert event_row(app, event)["taken"] == 2
    assert person.typed == 0 and person.taps == 2  # the menu, then one tap


def test_reserve_one_child_and_families_count_one_place(city, app, line):
    person, _ = member(line, app, [date(2024, 1, 20), date(2022, 5, 3)], names=["太郎", "花子"])
    event = make_event(app, capacity=3, unit="families")
    person.menu("events")
    press(person, "花子")
    assert "（花子）" in person.last()
    [booked] = reservations(app, event)
    assert booked["places"] == 1 and len(booked["children"]) == 1
    person.menu("events")
    press(person, "予約済み：確認する")
    assert person.last().startswith("予約済み：親子リトミック")


def test_cancel_before_the_deadline_frees_the_places(city, app, line):
    person, _ = member(line, app)
    event = make_event(app, capacity=1)
    person.menu("events")
    press(person, "予約する")
    person.say("予約")
    press(person, "取消：親子リトミック")
    assert person.last().startswith("「親子リトミック」")
    assert "取り消しました" in person.last()
    assert reservations(app, event)[0]["status"] == "cancelled"
    assert event_row(app, event)["taken"] == 0


def test_cancelling_after_the_deadline_is_refused_with_the_reason(city, app, line):
    person, _ = member(line, app)
    event = make_event(app, capacity=4, cancel_deadline=utcnow() + timedelta(seconds=1))
    person.menu("events")
    press(person, "予約する")
    person.say("予約")
    with app.app_context(), db.transaction() as session:
        session.get(Event, event).cancel_deadline = utcnow() - timedelta(minutes=1)
    press(person, "取消：親子リトミック")
    assert person.last().startswith("キャンセル期限（")
    assert "センターにご連絡ください" in person.last()
    assert reservations(app, event)[0]["status"] == "reserved"
    assert event_row(app, event)["taken"] == 1


def test_booking_window_and_a_stale_button(city, app, line):
    person, _ = member(line, app)
    event = make_event(app, capacity=4, opens_at=utcnow() + timedelta(days=1))
    person.menu("events")
    assert person.last() == "いま予約できるイベントはありません。"
    person.postback(Reserve(event).pack())
    assert person.last().startswith("このイベントの予約受付は")
    person.postback("ev.reserve:notanumber")
    assert person.last() == "申し訳ありません。このボタンはもう使えません。"


# The waitlist


def test_a_full_event_takes_one_waitlist_entry_per_household(city, app, line):
    first, _ = member(line, app)
    second, household = member(line, app, [date(2024, 1, 20), date(2023, 3, 3)])
    event = make_event(app, capacity=1)
    first.menu("events")
    press(first, "予約する")
    second.menu("events")
    press(second, "キャンセル待ちに登録")
    assert "キャンセル待ちに登録しました（1番目）" in second.last()
    press(second, "予約の確認")
    assert second.last().startswith("キャンセル待ち1番目：親子リトミック")
    second.postback(Wait(event).pack())
    assert "すでにキャンセル待ちに登録済みです（1番目）" in second.last()
    [entry] = waitlist(app, event)
    assert entry["household"] == household and entry["places"] == 2


def test_offers_pass_along_a_chain_of_five_households(city, app, line):
    holder, _ = member(line, app)
    waiting = [member(line, app) for _ in range(5)]
    event = make_event(app, capacity=1, days=3)
    holder.menu("events")
    press(holder, "予約する")
    for person, _ in waiting:
        person.menu("events")
        press(person, "キャンセル待ちに登録")
    assert [w["status"] for w in waitlist(app, event)] == ["waiting"] * 5

    # The holder cancels: the first waiting household is offered the place, by push.
    holder.say("予約")
    press(holder, "取消：親子リトミック")
    first, second, third, fourth, fifth = (p for p, _ in waiting)
    drain(app)
    offer = first.received()[-1]
    assert offer["type"] == "template" and "空きが出ました" in offer["altText"]
    assert [w["status"] for w in waitlist(app, event)] == ["offered"] + ["waiting"] * 4
    assert event_row(app, event)["taken"] == 1  # held for the offer

    # Declining passes it on at once.
    press(first, "辞退する", offer)
    assert first.last() == "辞退を受け付けました。お知らせありがとうございます。"
    drain(app)
    assert [w["status"] for w in waitlist(app, event)] == ["declined", "offered"] + ["waiting"] * 3

    # No answer in time: the clock passes it on (controlled now), once.
    expires = waitlist(app, event)[1]["expires"]
    assert expires - utcnow() <= timedelta(hours=12)
    assert run(app, "event-offers", expires - timedelta(seconds=1)) == 0
    assert run(app, "event-offers", expires) == 1
    assert run(app, "event-offers", expires) == 0
    drain(app)
    statuses = [w["status"] for w in waitlist(app, event)]
    assert statuses == ["declined", "expired", "offered", "waiting", "waiting"]
    # The expired offer's button is refused: an old offer never comes back.
    stale = second.received()[-1]
    press(second, "参加する", stale)
    assert second.last().startswith("このご案内はもう使えません")

    # The third accepts: a reservation, the places it held.
    press(third, "参加する", third.received()[-1])
    assert third.last().startswith("予約しました：親子リトミック")
    assert [r["source"] for r in reservations(app, event) if r["status"] == "reserved"] == ["offer"]
    assert event_row(app, event) == {"taken": 1, "capacity": 1, "reserved": 1, "waiting": 2,
                                          "cancelled": False}
    # The third cancels: the place goes to the fourth, never back to the first or second.
    third.say("予約")
    press(third, "取消：親子リトミック")
    drain(app)
    assert [w["status"] for w in waitlist(app, event)] == [
        "declined", "expired", "accepted", "offered", "waiting"]
    press(fourth, "辞退する", fourth.received()[-1])
    drain(app)
    assert waitlist(app, event)[4]["status"] == "offered"
    assert "空きが出ました" in fifth.received()[-1]["altText"]


def test_no_offer_after_the_event_starts_and_the_waitlist_closes_unmet(city, app, line):
    holder, _ = member(line, app)
    waiting, _ = member(line, app)
    event = make_event(app, capacity=1, days=2)
    holder.menu("events")
    press(holder, "予約する")
    waiting.menu("events")
    press(waiting, "キャンセル待ちに登録")
    with app.app_context(), db.transaction() as session:
        starts = session.get(Event, event).starts_at
        reservation = session.scalars(select(Reservation)).one()
        # Staff cancel it by hand after the start (the resident's deadline has passed).
        services._end_reservation(session, reservation, starts + timedelta(minutes=5),
                                  "cancelled")
        offered = services.offer_free_places(session, event, starts + timedelta(minutes=5),
                                             city=current_city())
    assert offered == []
    run(app, "event-offers", starts + timedelta(minutes=6))
    assert [w["status"] for w in waitlist(app, event)] == ["unmet"]
    assert pushes(app, waiting.user_id, "event-offer") == []


def test_an_offer_never_outlives_the_booking_close(city, app, line):
    holder, _ = member(line, app)
    waiting, _ = member(line, app)
    event = make_event(app, capacity=1, days=3, closes_at=utcnow() + timedelta(hours=2))
    holder.menu("events")
    press(holder, "予約する")
    waiting.menu("events")
    press(waiting, "キャンセル待ちに登録")
    holder.say("予約")
    press(holder, "取消：親子リトミック")
    [entry] = waitlist(app, event)
    assert entry["status"] == "offered"
    assert entry["expires"] <= utcnow() + timedelta(hours=2)


# Cancelled events, reminders, attendance


def test_cancelling_an_event_tells_every_reserved_and_waiting_family(city, app, line):
    holder, _ = member(line, app)
    waiting, _ = member(line, app)
    event = make_event(app, capacity=1)
    holder.menu("events")
    press(holder, "予約する")
    waiting.menu("events")
    press(waiting, "キャンセル待ちに登録")
    with app.app_context(), db.transaction() as session:
        counts = services.cancel_event(session, session.get(Event, event), utcnow(),
                                       city=current_city())
    assert counts == {"reserved": 1, "waiting": 1}
    assert event_row(app, event) == {"taken": 0, "capacity": 1, "reserved": 0, "waiting": 0,
                                     "cancelled": True}
    drain(app)
    for person in (holder, waiting):
        assert "中止になりました" in person.last()
    holder.menu("events")
    assert holder.last() == "いま予約できるイベントはありません。"


def test_the_day_before_reminder_goes_once_per_reservation(city, app, line):
    person, _ = member(line, app)
    other, _ = member(line, app)
    event = make_event(app, days=1, at="10:00", capacity=5)
    make_event(app, days=3, title_ja="あさっての次", capacity=5)
    for someone in (person, other):
        someone.menu("events")
        press(someone, "予約する")
    with app.app_context():
        now = current_city().at(current_city().today(utcnow()), "17:00")
    assert run(app, "event-reminders", now) == 2
    assert run(app, "event-reminders", now) == 0
    drain(app)
    reminder = person.received()[-1]
    assert reminder["text"].startswith("明日は「親子リトミック」です")
    press(person, "予約を取り消す", reminder)
    assert "取り消しました" in person.last()
    assert [r["reminded"] is not None for r in reservations(app, event)] == [True, True]


def test_a_check_in_during_the_event_marks_attendance_and_the_reply_says_so(city, app, line):
    person, household = member(line, app)
    start = utcnow().replace(microsecond=0) + timedelta(minutes=20)  # 30 minutes early counts
    event = make_event(app, title_ja="絵本の会", starts_at=start,
                       ends_at=start + timedelta(hours=1), capacity=5)
    elsewhere = make_event(app, title_ja="公園の会", starts_at=start,
                           ends_at=start + timedelta(hours=1), place_name="中央公園")
    person.menu("events")
    press(person, "予約する", index=0)
    person.menu("events")
    press(person, "予約する")
    person.say(scan_text(app))
    assert "「絵本の会」へようこそ！出席を記録しました。" in person.last()
    assert "公園の会" not in person.last()
    [booked] = reservations(app, event)
    assert booked["attended"] is not None and booked["household"] == household
    assert reservations(app, elsewhere)[0]["attended"] is None


# Suggestions at check-out


def test_a_check_out_suggests_one_fitting_event_at_most_weekly_and_can_be_turned_off(
        city, app, line):
    person, household = member(line, app, [date(2024, 1, 20)])
    make_event(app, days=4, title_ja="赤ちゃん会", max_age_months=11)  # does not suit
    make_event(app, days=5, title_ja="東の会", center="east")  # another center
    make_event(app, days=12, title_ja="中央の会", capacity=3)
    with app.app_context():

        def visit_and_leave(now):
            with db.transaction() as session:
                guardian = session.scalars(select(Guardian).where(
                    Guardian.household_id == household)).one()
                center = session.scalars(select(Center).where(Center.code == "central")).one()
                visit, _ = checkin.check_in(session, center, guardian, guardian.household.children,
                                            now, "poster", checkin.guardian_resident(
                                                session, guardian), city=current_city())
                checkin.check_out(session, session.get(Visit, visit.id),
                                  now + timedelta(hours=1), "scan")

        now = utcnow()
        visit_and_leave(now)
        visit_and_leave(now + timedelta(days=2))  # within the week: nothing more
        drain(app)
        suggested = [m["text"] for m in pushes(app, person.user_id, "event-suggestion")]
        assert len(suggested) == 1 and "「中央の会」" in suggested[0]
        assert "残り3枠" in suggested[0]
        press(person, "おすすめを止める")
        assert person.last() == "来館後のイベントのおすすめを止めました。"
        visit_and_leave(now + timedelta(days=8))
        assert len(pushes(app, person.user_id, "event-suggestion")) == 1
        with db.transaction() as session:
            services.set_suggestions(session, household, True)
        visit_and_leave(now + timedelta(days=9))
        assert len(pushes(app, person.user_id, "event-suggestion")) == 2


def test_suggestions_are_switched_in_my_data(city, app, line):
    person, household = member(line, app)
    person.menu("mydata")
    assert "来館後のイベントのおすすめ：オン" in person.last()
    press(person, "おすすめを止める")
    person.menu("mydata")
    assert "来館後のイベントのおすすめ：オフ" in person.last()
    assert "おすすめを受け取る" in [a.get("label") for a in actions(person.received()[-1])]
    with app.app_context(), db.session() as session:
        assert services.suggestions_on(session, household) is False


def test_erasing_a_registration_frees_its_places_for_the_waitlist(city, app, line):
    holder, household = member(line, app)
    waiting, _ = member(line, app)
    event = make_event(app, capacity=1)
    holder.menu("events")
    press(holder, "予約する")
    waiting.menu("events")
    press(waiting, "キャンセル待ちに登録")
    with app.app_context(), db.transaction() as session:
        resident = session.scalars(select(Resident).where(
            Resident.line_user_id == holder.user_id)).one()
        assert delete_registration(session, resident, utcnow())
    [gone] = reservations(app, event)
    assert gone["status"] == "cancelled" and gone["household"] is None
    assert waitlist(app, event)[0]["status"] == "offered"
    assert household not in [r["household"] for r in reservations(app)]
