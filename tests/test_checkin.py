"""QR check-in and check-out through the emulator: one child, several, check-out, moving
between centers, newcomers, a running form, bad codes, races, erasure and the clock's job."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from checkin import services, tokens
from cityhall.city import current_city
from cityhall.db import db
from cityhall.jobs import run_job
from emulator.client import message_text
from models import OutboxMessage, utcnow
from models.center import CheckinMode
from models.household import Child
from tests.builders import post_webhook, text_event
from tests.chat import Resident
from tests.checkin_support import (center_update, family, kiosk_text, local_today, open_all_day,
                                   scan_text, set_mode, shift_visits, visits)
from tests.flows_helpers import register, seed_city

CENTRAL = "中央子育て支援センター"
EAST = "東子育て支援センター"


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    open_all_day(app)
    return live_app


def member(line, app, children: int = 1, district: str = "ota") -> tuple[Resident, int]:
    """A registered resident (built in the database) chatting through the emulator."""
    person = Resident(line)
    return person, family(app, [person.user_id], children, district)


# Tokens


def test_tokens_are_signed_and_kiosk_tokens_expire(app):
    now = utcnow()
    with app.app_context():
        token = tokens.poster_token("central", 3)
        assert tokens.verify(token, now) == tokens.CenterToken("central", "poster", 3)
        forged = token.replace("central", "east")
        altered = token[:-1] + ("A" if token[-1] != "A" else "B")
        for bad in (forged, altered, token.replace(".p3.", ".p4."), "C1.central", ""):
            with pytest.raises(tokens.TokenError, match="invalid"):
                tokens.verify(bad, now)
        kiosk = tokens.kiosk_token("central", now)
        assert tokens.verify(kiosk, now + timedelta(seconds=tokens.KIOSK_WINDOW_SECONDS)).kind == "kiosk"
        with pytest.raises(tokens.TokenError, match="expired"):
            tokens.verify(kiosk, now + timedelta(seconds=2 * tokens.KIOSK_WINDOW_SECONDS))
        with pytest.raises(tokens.TokenError, match="invalid"):
            tokens.verify(tokens.poster_token("central", 3, key=b"another secret"), now)
        assert "山田" not in token and len(token) < 40


def test_age_in_months_counts_completed_months():
    assert services.age_in_months(date(2024, 1, 20), date(2024, 2, 19)) == 0
    assert services.age_in_months(date(2024, 1, 20), date(2024, 2, 20)) == 1
    assert services.age_in_months(date(2022, 5, 3), date(2026, 11, 23)) == 54


# The resident's side


@pytest.mark.http  # end to end over real HTTP; the file's other chat tests run in-process
def test_one_child_is_checked_in_at_once_with_center_time_and_name(city, app, line):
    person, household = member(line, app, children=1, district="hachiya")
    person.say(scan_text(app))
    answer = person.last()
    assert answer.startswith(f"{CENTRAL}にチェックインしました（")
    assert "子ども1" in answer and person.typed + person.taps == 1
    [visit] = visits(app, household)
    assert visit["center"] == "central" and visit["out"] is None and visit["method"] == "poster"
    assert visit["district"] == "hachiya" and visit["first"] is True
    today = local_today(app)
    assert visit["ages"] == [services.age_in_months(date(2022, 5, 3), today)]


def test_several_children_all_preselected_first_two_taps_at_most(city, app, line):
    person, household = member(line, app, children=2)
    person.say(scan_text(app))
    assert person.last() == f"今日{CENTRAL}に一緒に来たのはどなたですか？"
    assert person.labels() == ["子ども全員", "子ども1", "子ども2"]
    person.tap("子ども全員")
    assert person.typed + person.taps == 2
    assert "子ども1、子ども2" in person.last()
    assert len(visits(app, household)[0]["child_ids"]) == 2


def test_choosing_one_child_and_a_second_tap_changes_nothing(city, app, line):
    person, household = member(line, app, children=2)
    person.say(scan_text(app))
    second = person.button("子ども2")["data"]
    person.tap("子ども2")
    assert "子ども2" in person.last() and "子ども1" not in person.last()
    person.postback(second)
    assert person.last().startswith("その選択はすでに使われたか")
    [visit] = visits(app, household)
    assert len(visit["child_ids"]) == 1


def test_scanning_again_checks_out_with_the_length_of_stay(city, app, line):
    person, household = member(line, app)
    person.say(scan_text(app))
    shift_visits(app, timedelta(hours=1, minutes=25))
    person.say(scan_text(app))
    assert person.last().startswith(f"{CENTRAL}からチェックアウトしました（")
    assert "滞在時間は1時間25分でした" in person.last()
    [visit] = visits(app, household)
    assert visit["how"] == "scan" and visit["out"] is not None


def test_checking_in_elsewhere_closes_the_first_visit(city, app, line):
    person, household = member(line, app)
    person.say(scan_text(app, "central"))
    shift_visits(app, timedelta(minutes=30))
    person.say(scan_text(app, "east"))
    assert person.last().splitlines()[0] == f"{CENTRAL}の利用を終了しました。"
    assert person.last().splitlines()[1].startswith(f"{EAST}にチェックインしました")
    first, second = visits(app, household)
    assert (first["center"], first["how"]) == ("central", "moved") and first["out"] is not None
    assert (second["center"], second["out"], second["first"]) == ("east", None, False)


def test_double_scan_within_seconds_makes_no_second_visit_and_no_check_out(city, app, line):
    person, household = member(line, app)
    text = scan_text(app)
    person.say(text)
    person.say(text)
    assert person.last().startswith("たった今チェックインしたところです")
    shift_visits(app, timedelta(minutes=40))
    person.say(text)
    person.say(text)
    assert person.last().startswith("たった今チェックアウトしたところです")
    [visit] = visits(app, household)
    assert visit["how"] == "scan"


def test_a_newcomer_registers_and_is_checked_in_without_scanning_again(city, app, line):
    person = Resident(line)
    person.follow()
    person.tap("日本語")
    person.say(scan_text(app, "east"))
    assert person.texts()[-3].startswith("チェックインの前に、まず登録をお願いします")
    assert EAST in person.texts()[-3]
    register(person, children=1)
    assert person.texts()[-2].startswith("登録が完了しました。")
    assert person.last().startswith(f"{EAST}にチェックインしました")
    [visit] = visits(app)
    assert visit["center"] == "east" and visit["out"] is None


def test_a_newcomer_with_two_children_chooses_after_registering(city, app, line):
    person = Resident(line)
    person.follow()
    person.tap("日本語")
    person.say(scan_text(app))
    register(person, children=2)
    assert person.last() == f"今日{CENTRAL}に一緒に来たのはどなたですか？"
    person.tap("子ども全員")
    assert "山田太郎、山田次郎" in person.last()


def test_scanning_in_the_middle_of_a_form_pauses_it_and_offers_it_afterwards(city, app, line):
    person, household = member(line, app)
    person.menu("apply")
    person.tap(person.labels()[0])
    asked = person.last()
    person.say(scan_text(app))
    texts = person.texts()
    assert texts[-2].startswith(f"{CENTRAL}にチェックインしました")
    assert texts[-1].startswith("途中の手続き")
    person.tap("再開する")
    assert person.last() == asked
    assert len(visits(app, household)) == 1


def test_english_speaking_resident_gets_english(city, app, line):
    person, _household = member(line, app)
    with app.app_context(), db.transaction() as session:
        from models import Resident as ResidentRow
        session.scalars(select(ResidentRow).where(
            ResidentRow.line_user_id == person.user_id)).one().language = "en"
    person.say(scan_text(app))
    assert person.last().startswith("Checked in at Central Child Support Center at ")


def test_rich_menu_check_in_explains_or_offers_check_out(city, app, line):
    person, household = member(line, app)
    person.menu("checkin")
    assert person.last().startswith("チェックインするには、センター入口のQRコードを")
    person.say(scan_text(app))
    person.menu("checkin")
    assert person.labels() == ["チェックアウト"]
    person.tap("チェックアウト")
    assert person.last().startswith(f"{CENTRAL}からチェックアウトしました")
    assert visits(app, household)[0]["how"] == "scan"


# Bad input: a clear answer, and nothing changes


def _refusal_cases():
    return {
        "forged": (lambda app: scan_text(app).replace("central", "east"),
                   "このQRコードはチェックイン用の正しいコードではありません"),
        "altered": (lambda app: scan_text(app)[:-2] + "xx",
                    "このQRコードはチェックイン用の正しいコードではありません"),
        "garbage": (lambda app: "チェックイン こんにちは",
                    "このQRコードはチェックイン用の正しいコードではありません"),
        "expired kiosk": (lambda app: _expired_kiosk(app), "このQRコードは有効期限が切れています"),
        "revoked poster": (lambda app: _revoked_poster(app), "このQRコードは現在使われていません"),
        "poster at a kiosk center": (lambda app: _poster_at_kiosk(app),
                                     "このQRコードは現在使われていません"),
        "unknown center": (lambda app: _unknown_center(app),
                           "このセンターではチェックインを受け付けていません"),
        "closed today": (lambda app: _closed_today(app), f"{CENTRAL}は本日休館日のため"),
        "closed now": (lambda app: _closed_now(app), f"{CENTRAL}は現在閉館中のため"),
    }


def _expired_kiosk(app):
    set_mode(app, "central", CheckinMode.KIOSK)
    return kiosk_text(app, "central", utcnow() - timedelta(seconds=3 * tokens.KIOSK_WINDOW_SECONDS))


def _revoked_poster(app):
    old = scan_text(app)
    with app.app_context(), db.transaction() as session:
        from models import Center
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        services.reissue_poster(session, center, utcnow())
    return old


def _poster_at_kiosk(app):
    old = scan_text(app)
    set_mode(app, "central", CheckinMode.KIOSK)
    return old


def _unknown_center(app):
    with app.app_context():
        return "チェックイン " + tokens.poster_token("nowhere", 1)


def _closed_today(app):
    center_update(app, "central", closed_days=[local_today(app).isoformat()])
    return scan_text(app)


def _closed_now(app):
    with app.app_context():
        now = current_city().local(utcnow())
    # Open for one minute, long ago today or (just after midnight) later today.
    window = ["00:00", "00:01"] if now.time() >= time(0, 5) else ["23:58", "23:59"]
    center_update(app, "central", opening_hours={d: window for d in
                                                 ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    return scan_text(app)


@pytest.mark.parametrize("case", list(_refusal_cases()))
def test_bad_codes_get_a_clear_answer_and_change_nothing(city, app, line, case):
    make, expected = _refusal_cases()[case]
    person, _household = member(line, app)
    person.say(make(app))
    assert expected in person.last()
    assert visits(app) == []


def test_kiosk_code_of_this_or_the_previous_window_checks_in(city, app, line):
    set_mode(app, "central", CheckinMode.KIOSK)
    person, household = member(line, app)
    person.say(kiosk_text(app, "central", utcnow() - timedelta(seconds=tokens.KIOSK_WINDOW_SECONDS)))
    assert person.last().startswith(f"{CENTRAL}にチェックインしました")
    assert visits(app, household)[0]["method"] == "kiosk"


def test_checking_out_works_after_closing_time(city, app, line):
    person, household = member(line, app)
    person.say(scan_text(app))
    shift_visits(app, timedelta(minutes=20))
    _closed_today(app)
    person.say(scan_text(app))
    assert "チェックアウトしました" in person.last()


# Races: the database keeps one visit


def _race(app, url: str, user_ids: list[str], text: str) -> list[int]:
    """Post one scan per user at the same moment; return the webhook statuses."""
    bodies = [json.dumps({"events": [text_event(u, text)]}).encode() for u in user_ids]
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def deliver(body: bytes) -> None:
        barrier.wait()
        statuses.append(post_webhook(url, body).status_code)

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return statuses


def test_two_racing_scans_of_one_family_make_one_visit(city, app, line):
    person, household = member(line, app, children=1)
    assert _race(app, city.url, [person.user_id] * 4, scan_text(app)) == [200] * 4
    [visit] = visits(app, household)
    assert visit["out"] is None and len(visit["child_ids"]) == 1


def test_two_guardians_checking_in_the_same_child_at_once_make_one_visit(city, app, line):
    mother, father = Resident(line), Resident(line)
    household = family(app, [mother.user_id, father.user_id], children=1)
    assert _race(app, city.url, [mother.user_id, father.user_id], scan_text(app)) == [200, 200]
    [visit] = visits(app, household)
    assert visit["out"] is None
    with app.app_context(), db.transaction() as session:
        pushed = [message_text(m.messages[0]) for m in session.scalars(select(OutboxMessage))]
    # The made-up reply tokens fail, so both answers went by push: one in, one "just now".
    assert len(pushed) == 2
    assert sum(t.startswith(f"{CENTRAL}にチェックインしました") for t in pushed) == 1
    assert sum(t.startswith("たった今チェックイン") for t in pushed) == 1


# Erasure and the clock


def test_deleting_the_registration_ends_the_open_visit_and_keeps_the_statistics(city, app, line):
    person, household = member(line, app)
    person.say(scan_text(app))
    person.menu("mydata")
    person.tap("削除する")
    person.tap("削除する")
    [visit] = visits(app)
    assert visit["household_id"] is None and visit["how"] == "erased"
    assert visit["district"] == "ota" and len(visit["ages"]) == 1 and visit["child_ids"] == [None]


def _yesterday_at(app, hour: int) -> datetime:
    with app.app_context():
        day = local_today(app) - timedelta(days=1)
        return datetime.combine(day, time(hour), current_city().zone)


def test_clock_checks_out_at_closing_time_and_tells_the_resident_once(city, app, line):
    person, household = member(line, app)
    person.say(scan_text(app))
    center_update(app, "central", opening_hours={d: ["09:00", "16:00"] for d in
                                                 ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    shift_visits(app, utcnow() - _yesterday_at(app, 10))
    with app.app_context():
        assert run_job("auto-checkout", utcnow()) == 1
        assert run_job("auto-checkout", utcnow()) == 0
    [visit] = visits(app, household)
    assert visit["how"] == "auto" and visit["out"] == _yesterday_at(app, 16)
    with app.app_context(), db.transaction() as session:
        [row] = session.scalars(select(OutboxMessage)).all()
        assert row.recipients == [person.user_id] and row.source == f"auto-checkout:{visit['id']}"
        assert row.messages[0]["text"] == (f"{CENTRAL}は閉館しましたので、16:00にチェックアウトしました。"
                                           "ご利用ありがとうございました！")


def test_clock_leaves_visits_before_closing_time_alone(city, app, line):
    person, household = member(line, app)
    person.say(scan_text(app))
    with app.app_context():
        assert run_job("auto-checkout", utcnow()) == 0
    assert visits(app, household)[0]["out"] is None


def test_clock_job_is_registered_and_runs_from_the_cli(app):
    from cityhall.cli import main
    from cityhall.jobs import JOBS

    assert JOBS["auto-checkout"].trigger == "cron"
    result = app.test_cli_runner().invoke(main, ["jobs", "run", "auto-checkout", "--now",
                                                 utcnow().isoformat()])
    assert result.exit_code == 0 and "auto-checkout: 0" in result.output


def test_child_rows_keep_age_when_the_child_is_changed_later(city, app, line):
    person, household = member(line, app)
    person.say(scan_text(app))
    before = visits(app, household)[0]["ages"]
    with app.app_context(), db.transaction() as session:
        for child in session.scalars(select(Child)):
            child.birth_date = date(2015, 1, 1)
    assert visits(app, household)[0]["ages"] == before
