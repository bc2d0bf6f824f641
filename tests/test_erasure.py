"""Erasure that erases: a resident with distinctive values uses every feature, deletes the
registration, and then no table of the database holds any of those values; the worker sends
them nothing afterwards. Also the outbox steps on their own and the retention job."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from bot import outbox, worker
from bot.gateway import gateway
from cityhall.cli import main
from cityhall.db import db
from cityhall.jobs import run_job
from models import OutboxMessage, OutboxStatus, Resident as ResidentRow, utcnow
from models.staff import StaffRole
from models.visit import Visit
from residents.chat import ApplyForm
from tests.chat import Resident
from tests.checkin_support import family, open_all_day, scan_text, visits
from tests.flows_helpers import query, register
from tests.staff_support import StaffClient, add_staff, seed_staff
from tests.test_applications import CHILDCARE_DAY, CONSULTATION_DAY
from tests.test_applications_staff import PHOTO_FORM, photo_form  # noqa: F401  (fixture)

VERSION = re.compile(r'name="version" type="hidden" value="([^"]*)"')
PHOTO = b"\xff\xd8\xff\xe0" + b"WASHIMIYA-PHOTO-BYTES" * 8
# Values only this resident ever gave; none may survive the erasure anywhere.
NEEDLES = ["鷲宮", "わしみや", "ワシミヤ", "ユカリン", "08073914826", "080-7391-4826",
           "蜂屋町7-7-7", "ピーナッツ", "こはる", "コハル", "法事", "washimiya", "夜泣き",
           "母子手帳の写し"]


@pytest.fixture
def city(live_app, app):
    seed_staff(app)
    open_all_day(app)
    with app.app_context(), db.transaction() as session:
        add_staff(session, "kosodate", StaffRole.DEPARTMENT, departments=("childcare",))
    return live_app


def signed_in(app, username: str) -> StaffClient:
    client = StaffClient(app)
    assert client.login(username).status_code == 302
    return client


def register_distinctive(person: Resident) -> None:
    person.menu("register")
    person.say("鷲宮ゆかり")
    person.say("わしみや ゆかり")
    person.say("080-7391-4826")
    person.say("505-0042")
    person.say("美濃加茂市蜂屋町7-7-7")
    person.tap("太田")
    person.tap("はい")
    person.say("鷲宮こはる")
    person.say("わしみや こはる")
    person.pick_date("2023-04-05")
    person.tap("スキップ")
    person.say("ピーナッツアレルギー（重度）")
    person.tap("いいえ")
    person.tap("送信")
    assert person.last().startswith("登録が完了しました")


def childcare_with_details(person: Resident) -> None:
    person.menu("apply")
    person.tap("一時預かりの申し込み")
    person.tap("中央子育て支援センター")
    person.pick_date(CHILDCARE_DAY)
    person.pick_time("10:00")
    person.say("4")
    person.tap("その他")
    person.say("鷲宮家の法事のため")
    person.say("ピーナッツは絶対に避けてください")
    person.tap("送信")
    assert person.last().startswith("送信しました。受付番号は")


def consultation_by_email(person: Resident) -> None:
    person.menu("apply")
    person.tap("子育て相談の予約")
    person.tap("子育ての悩み")
    person.say("こはるの夜泣きが続いています")
    person.pick_date(CONSULTATION_DAY)
    person.tap("スキップ")
    person.tap("午前")
    person.tap("決定")
    person.tap("メール")
    person.say("washimiya.yukari@example.jp")
    person.tap("送信")


def status_change(client: StaffClient, submission_id: int, status: str, comment: str,
                  **translations: str) -> None:
    page = client.get(f"/staff/applications/{submission_id}").get_data(as_text=True)
    response = client.post(f"/staff/applications/{submission_id}/status", data={
        "status": status, "comment": comment, "version": VERSION.search(page).group(1),
        **{f"comment_{code}": text for code, text in translations.items()}})
    assert response.status_code == 302


def drain(app) -> None:
    with app.app_context():
        worker.drain(db.session, gateway())


def every_value(app) -> list[tuple[str, str, Any]]:
    """Return (table, column, value) of every non-null value of every table in the database."""
    engine = sa.create_engine(app.config["DATABASE_URL"])
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    found = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                found += [(table.name, column, value) for column, value in row.items()
                          if value is not None]
    engine.dispose()
    return found


def as_text(value: Any) -> str | bytes:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def leftovers(app, needles: list[str], blob: bytes) -> list[tuple[str, str, str]]:
    """Return where any needle (or the photo's bytes) is still stored."""
    hits = []
    for table, column, value in every_value(app):
        text = as_text(value)
        if isinstance(text, bytes):
            if blob in text or any(n.encode() in text for n in needles):
                hits.append((table, column, "bytes"))
        else:
            hits += [(table, column, n) for n in needles if n.lower() in text.lower()]
    return hits


def pushes(line, user_id: str) -> list[str]:
    return [json.dumps(r["message"], ensure_ascii=False)
            for r in line.received(user_id) if r["via"] == "push"]


@pytest.mark.http  # end to end over real HTTP; the file's other chat tests run in-process
def test_erasure_leaves_no_personal_value_in_any_table(city, line, app, photo_form):
    person = Resident(line, name="ユカリン鷲宮")
    person.follow()
    register_distinctive(person)
    person.say(scan_text(app, "east"))  # checked in at the east center, one child at once
    assert "チェックインしました" in person.last()
    # Central's staff check the family in by phone and kana: the east visit ends, a push waits.
    response = signed_in(app, "central").post("/staff/checkin/central/checkin", data={
        "phone-phone": "080-7391-4826", "phone-kana": "わしみや ゆかり", "phone-submit": "1"})
    assert response.status_code == 302
    childcare_with_details(person)
    consultation_by_email(person)
    person.postback(ApplyForm("pothole").pack())
    person.send_image(PHOTO)
    person.tap("送信")
    person.menu("mydata")
    person.tap("パートナー招待")
    # Staff open the application and change its status twice: one push is delivered, the
    # other still waits in the outbox when the resident erases.
    submission_id = query(app, lambda s: s.scalar(sa.text(
        "SELECT id FROM submissions WHERE form_id = 'childcare'")))
    staff = signed_in(app, "kosodate")
    status_change(staff, submission_id, "in_review", "鷲宮様、確認しています。")
    drain(app)
    # My data whose reply fails goes by push: once delivered, once still waiting.
    line.add_fault("/v2/bot/message/reply", status=500)
    person.menu("mydata")
    drain(app)
    status_change(staff, submission_id, "returned", "鷲宮様、母子手帳の写しをお送りください。",
                  en="Ms Washimiya, please send a copy of the maternal handbook.")
    line.add_fault("/v2/bot/message/reply", status=500)
    person.menu("mydata")
    assert not any("母子手帳の写し" in p for p in pushes(line, person.user_id))
    assert leftovers(app, NEEDLES, PHOTO)  # the test's values really are stored before

    person.menu("mydata")
    person.tap("削除する")
    person.tap("削除する")
    assert person.last().startswith("登録を削除しました。")
    sent_before = len(pushes(line, person.user_id))
    drain(app)

    assert leftovers(app, NEEDLES, PHOTO) == []
    new_pushes = pushes(line, person.user_id)[sent_before:]
    assert new_pushes == []  # the waiting status change and My data were dropped
    # The LINE id is kept only as the follower (residents) and nowhere beside anything.
    holders = {(t, c) for t, c, v in every_value(app) if person.user_id in str(as_text(v))}
    assert holders == {("residents", "line_user_id")}
    resident_id = query(app, lambda s: s.scalar(select(ResidentRow.id).where(
        ResidentRow.line_user_id == person.user_id)))
    assert resident_links(app, resident_id) == []
    # Statistics keep the visit: center, times, district at the time, the child's age.
    visits_kept = query(app, lambda s: [
        {"district": v.district_code, "how": v.checkout_method, "resident": v.resident_id,
         "household": v.household_id, "ages": len(v.children),
         "children": [c.child_id for c in v.children]}
        for v in s.scalars(select(Visit).order_by(Visit.id))])
    assert visits_kept == [
        {"district": "ota", "how": how, "resident": None, "household": None, "ages": 1,
         "children": [None]} for how in ("moved", "erased")]
    # Submissions stay as counts by form, department and status, without answers.
    kept = query(app, lambda s: s.execute(sa.text(
        "SELECT form_id, status, answers, status_comment FROM submissions ORDER BY id")).all())
    assert [(f, st) for f, st, _a, _c in kept] == [("childcare", "returned"),
                                                  ("consultation", "received"),
                                                  ("pothole", "received")]
    assert all(c is None for *_x, c in kept)
    messages = query(app, lambda s: s.execute(sa.text(
        "SELECT comment, comments FROM submission_status_changes")).all())
    assert len(messages) == 2 and all(c is None and t is None for c, t in messages)


def resident_links(app, resident_id: int) -> list[tuple[str, str]]:
    """Return the (table, column) of every foreign key to residents that names this resident."""
    engine = sa.create_engine(app.config["DATABASE_URL"])
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    links = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == "residents" and connection.scalar(
                        select(func.count()).select_from(table).where(fk.parent == resident_id)):
                    links.append((table.name, fk.parent.name))
    engine.dispose()
    return links


def test_the_deletion_confirmation_still_arrives_when_its_reply_fails(city, line, app):
    person = Resident(line, name="ユカリン鷲宮")
    register_distinctive(person)
    person.menu("mydata")
    person.tap("削除する")
    line.add_fault("/v2/bot/message/reply", status=500)
    person.tap("削除する")
    drain(app)
    assert pushes(line, person.user_id) and "登録を削除しました" in pushes(line, person.user_id)[-1]
    assert leftovers(app, NEEDLES, PHOTO) == []


# The outbox on its own


def rows(app) -> list[tuple[list[str], list, str, bool]]:
    return query(app, lambda s: [(r.recipients, r.messages, r.status.value, r.purged_at is not None)
                                 for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))])


def test_forget_recipient_drops_pending_purges_finished_and_leaves_multicasts(app):
    text = [{"type": "text", "text": "鷲宮様へ"}]
    notice = [{"type": "text", "text": "臨時休館のお知らせ"}]
    with app.app_context(), db.transaction() as session:
        outbox.enqueue(session, ["Uerased"], text)
        sent = outbox.enqueue(session, ["Uerased"], text)[0]
        sent.status = OutboxStatus.SENT
        outbox.enqueue(session, ["Uother", "Uerased", "Uthird"], notice)
        outbox.enqueue(session, ["Uother"], text)
    with app.app_context(), db.transaction() as session:
        assert outbox.forget_recipient(session, "Uerased", utcnow()) == 3
    assert rows(app) == [([], [], "sent", True),
                         (["Uother", "Uthird"], notice, "pending", False),
                         (["Uother"], text, "pending", False)]


def test_a_row_dropped_while_the_worker_sends_it_is_not_recorded(app, line):
    with app.app_context(), db.transaction() as session:
        outbox.enqueue(session, ["Uerased"], [{"type": "text", "text": "x"}])

    class DroppingGateway:
        """The real gateway; the erasure commits while the push is on its way."""

        def push(self, *args):
            with db.transaction() as session:
                outbox.forget_recipient(session, "Uerased", utcnow())
            return gateway().push(*args)

    with app.app_context():
        assert worker.deliver_next(db.session, DroppingGateway(), 3) is True
        assert worker.deliver_next(db.session, DroppingGateway(), 3) is False
    assert rows(app) == []


def test_retention_job_purges_finished_rows_once_and_keeps_pending_ones(app):
    now = utcnow()
    message = [{"type": "text", "text": "お知らせ"}]
    with app.app_context(), db.transaction() as session:
        for age, status in ((31, OutboxStatus.SENT), (31, OutboxStatus.FAILED),
                            (31, OutboxStatus.PENDING), (29, OutboxStatus.SENT)):
            row = outbox.enqueue(session, ["U1"], message)[0]
            row.status, row.created_at = status, now - timedelta(days=age)
    result = app.test_cli_runner().invoke(main, ["jobs", "run", "purge-outbox", "--now",
                                                 now.isoformat()])
    assert result.exit_code == 0 and "purge-outbox: 2" in result.output
    assert rows(app) == [([], [], "sent", True), ([], [], "failed", True),
                         (["U1"], message, "pending", False), (["U1"], message, "sent", False)]
    with app.app_context():
        assert run_job("purge-outbox", now) == 0  # idempotent: nothing left to purge
        assert run_job("purge-outbox", now + timedelta(days=2)) == 1
    assert app.config["OUTBOX_RETENTION_DAYS"] == 30


def test_a_partner_who_erases_leaves_the_household_and_its_visits_to_the_other(city, line, app):
    first, partner = Resident(line), Resident(line)
    household = family(app, [first.user_id, partner.user_id], children=1)
    partner.say(scan_text(app))
    assert "チェックインしました" in partner.last()
    partner.menu("mydata")
    partner.tap("削除する")
    partner.tap("削除する")
    values = [as_text(v) for _t, _c, v in every_value(app)]
    assert not any("保護者2" in v for v in values if isinstance(v, str))
    assert any("保護者1" in v for v in values if isinstance(v, str))
    [visit] = visits(app)
    assert visit["household_id"] == household and visit["how"] is None  # still inside
    partner_id = query(app, lambda s: s.scalar(select(ResidentRow.id).where(
        ResidentRow.line_user_id == partner.user_id)))
    assert resident_links(app, partner_id) == []
    first.menu("mydata")
    assert "子ども1" in first.last()


def join_as(line, code: str, name: str, kana: str, phone: str) -> Resident:
    partner = Resident(line, name=name)
    partner.say(code)
    for text in (name, kana, phone, "505-0042", "美濃加茂市蜂屋町7-7-7"):
        partner.say(text)
    partner.tap("太田")
    partner.tap("はい")
    partner.tap("送信")
    assert partner.last() == "パートナーの世帯に参加しました。お子さんの登録を共有しています。"
    return partner


def erase(person: Resident) -> None:
    person.menu("mydata")
    person.tap("削除する")
    person.tap("削除する")
    assert person.last().startswith("登録を削除しました。")


def test_partner_notices_naming_an_erased_partner_are_dropped_or_purged(city, line, app):
    first = Resident(line, name="山田花子")
    register(first, children=1)
    first.menu("mydata")
    first.tap("パートナー招待")
    delivered = join_as(line, first.last(), "鷲宮ゆかり", "わしみや ゆかり", "080-7391-4826")
    drain(app)  # the inviting guardian was told "鷲宮ゆかり joined"
    assert any("鷲宮ゆかり" in p for p in pushes(line, first.user_id))
    first.menu("mydata")
    first.tap("パートナー招待")
    waiting = join_as(line, first.last(), "鷲宮こはる", "わしみや こはる", "080-7391-4827")
    erase(delivered)
    erase(waiting)  # before the worker told the first guardian about this one
    told = len(pushes(line, first.user_id))
    drain(app)
    assert not any("鷲宮こはる" in p for p in pushes(line, first.user_id)[told:])
    assert leftovers(app, NEEDLES, PHOTO) == []
    first.menu("mydata")
    assert "山田花子" in first.last()
