"""Residents in the chat: the last ten notices in their language, and stop/resume per topic
(from My data too); a closure for a center they are inside reaches them anyway."""

from __future__ import annotations

from sqlalchemy import select

from bot import worker
from bot.gateway import gateway
from cityhall.db import db
from models import Center, Resident, utcnow
from models.notice import NoticeOptOut
from notices import services
from tests.chat import Resident as ChatResident
from tests.checkin_support import family
from tests.notices_support import CITY, seeded


def resident_id(app, user_id: str) -> int:
    with app.app_context(), db.session() as session:
        return session.scalar(select(Resident.id).where(Resident.line_user_id == user_id))


def notify(app, ids: list[int], title: str, topic: str = "news", urgent: bool = True) -> None:
    with app.app_context(), db.transaction() as session:
        services.send_to_residents(session, ids, title=title,
                                   bodies={"ja": f"{title}の本文", "en": f"{title} in English"},
                                   topic=topic, now=utcnow(), city=CITY, urgent=urgent)
    with app.app_context():
        worker.drain(db.session, gateway())


def test_the_notices_list_shows_the_last_ten_in_the_residents_language(live_app, app, line):
    seeded(app)
    person = ChatResident(line)
    family(app, [person.user_id])
    with app.app_context(), db.transaction() as session:
        session.execute(Resident.__table__.update().where(Resident.line_user_id == person.user_id)
                        .values(language="en"))
    rid = resident_id(app, person.user_id)
    for n in range(12):
        notify(app, [rid], f"題名{n}")
    person.say("notices")
    listing = person.last()
    assert listing.startswith("[Notices] the last 10")
    assert "題名11" in listing and "題名2" in listing and "題名1\n" not in listing
    assert "題名11 in English" in listing


def test_a_resident_stops_and_resumes_a_topic_and_closures_inside_still_reach_them(
        live_app, app, line):
    seeded(app)
    person = ChatResident(line)
    family(app, [person.user_id])
    rid = resident_id(app, person.user_id)
    person.say("マイデータ")
    person.tap("お知らせ")
    assert "受け取ったお知らせはまだありません" in person.last()
    person.tap("お知らせの設定")
    assert "イベント：受け取る" in person.last()
    person.tap("イベントを停止")
    assert "イベント：停止中" in person.last()
    person.tap("休館を停止")
    notify(app, [rid], "イベントの案内", topic="events")
    assert not any("イベントの案内" in t for t in person.texts())
    with app.app_context(), db.session() as session:
        stopped = set(session.scalars(select(NoticeOptOut.topic)
                                      .where(NoticeOptOut.resident_id == rid)))
    assert stopped == {"events", "closures"}
    person.tap("イベントを再開")
    assert "イベント：受け取る" in person.last()
    # Inside the center when it closes: the closure reaches them despite the stop.
    with app.app_context(), db.transaction() as session:
        from tests.notices_support import visit
        from models.household import Guardian

        household = session.scalar(select(Guardian.household_id)
                                   .where(Guardian.resident_id == rid))
        visit(session, household, "central", utcnow())
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        services.close_center(session, center, CITY.today(utcnow()), "停電のため", utcnow(), CITY)
    with app.app_context():
        worker.drain(db.session, gateway())
    assert any("休館" in t for t in person.texts())
