"""Notices in the residents' own languages: staff write a title and text per language (Japanese
required), the preview and the reach mark who gets Japanese because their language is missing,
and each resident receives their own language's text through the emulator, else Japanese."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from bot import worker
from bot.gateway import gateway
from cityhall.db import db
from cityhall.i18n import translate
from cityhall.languages import KNOWN
from models import utcnow
from models.notice import Notice
from notices import messages, services
from notices.chat import TOPIC_LABELS
from notices.segments import Reach
from tests.notices_support import CITY, guardian, uid, visit
from tests.staff_support import StaffClient, as_admin, staff_app  # noqa: F401


def residents(app, languages: dict[str, str]) -> None:
    """Register one family per (user id, language) that visited the central center."""
    with app.app_context(), db.transaction() as session:
        for user, language in languages.items():
            g = guardian(session, language=language, user_id=user)
            visit(session, g.household_id, "central", utcnow() - timedelta(days=2))


def compose(client: StaffClient, **fields):
    data = {"title": "夏祭りのお知らせ", "body_ja": "8月1日に夏祭りを開きます。",
            "title_vi": "Lễ hội mùa hè", "body_vi": "Lễ hội mùa hè vào ngày 1 tháng 8.",
            "topic": "events", "audience": "registered", "centers": ["central"],
            "visited_days": "30"}
    data.update(fields)
    return client.post("/staff/notices/new", data, content_type="multipart/form-data")


def bubble_texts(entry: dict) -> list[str]:
    return [part["text"] for part in entry["message"]["contents"]["body"]["contents"]]


def test_compose_offers_a_labelled_field_per_resident_language(as_admin, staff_app):
    page = unescape(as_admin.get("/staff/notices/new").get_data(as_text=True))
    for code, language in KNOWN.items():
        if code == "ja":
            assert 'name="body_ja"' in page
            continue
        name = code.replace("-", "_")
        assert f'name="title_{name}"' in page and f'name="body_{name}"' in page
        assert f"本文（{language.name}、任意）" in page  # each field has its own label
        assert f'<details class="language-text" id="language-{code}">' in page  # closed
    # Only the configured languages are offered.
    staff_app.config["RESIDENT_LANGUAGES"] = "ja,en,vi"
    page = as_admin.get("/staff/notices/new").get_data(as_text=True)
    assert 'name="body_vi"' in page and 'name="body_tl"' not in page


def test_a_vi_resident_gets_vi_and_a_tl_resident_gets_japanese_which_staff_saw(
        as_admin, staff_app, line):
    staff_app.config["NOTICE_QUIET_HOURS"] = "none"  # the test may run at night
    vi, tl, ja = uid(), uid(), uid()
    residents(staff_app, {vi: "vi", tl: "tl", ja: "ja"})
    response = compose(as_admin)
    assert response.status_code == 302
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = unescape(as_admin.get(f"/staff/notices/{notice_id}").get_data(as_text=True))
    # The preview: one bubble per written language, and the mark for the missing ones.
    assert 'id="preview-ja"' in page and 'id="preview-vi"' in page and 'id="preview-tl"' not in page
    assert 'id="fallback-mark"' in page and "これらの言語には日本語の本文が届きます" in page
    assert re.search(r'id="missing-tl"><span lang="tl">Tagalog</span> → 日本語', page)
    assert 'id="missing-vi"' not in page
    # The reach: per language, and how many get Japanese because theirs is missing.
    assert re.search(r'id="reach-residents">3<', page)
    assert "うち1人は、自分の言語の本文がないため日本語の本文を受け取ります。" in page
    assert re.search(r'id="reach-lang-tl" class="falls-back">.*?Tagalog</span>: 1\s*'
                     r'<strong class="fallback-mark">⚠ 日本語で届きます', page, re.S)
    assert re.search(r'id="reach-lang-vi">.*?Tiếng Việt</span>: 1\s*</li>', page, re.S)
    assert re.search(r'id="reach-lang-ja">.*?日本語</span>: 1\s*</li>', page, re.S)

    assert as_admin.post(f"/staff/notices/{notice_id}/send").status_code == 302
    with staff_app.app_context():
        worker.drain(db.session, gateway())
    [to_vi], [to_tl], [to_ja] = (line.received(u) for u in (vi, tl, ja))
    assert bubble_texts(to_vi) == ["Lễ hội mùa hè", "Lễ hội mùa hè vào ngày 1 tháng 8."]
    assert to_vi["message"]["altText"] == "Thông báo: Lễ hội mùa hè"
    assert bubble_texts(to_tl) == ["夏祭りのお知らせ", "8月1日に夏祭りを開きます。"]
    assert to_tl["message"]["altText"] == "お知らせ: 夏祭りのお知らせ"
    assert bubble_texts(to_ja) == bubble_texts(to_tl)


def test_per_language_fields_refuse_a_title_without_its_text(as_admin, staff_app):
    page = unescape(compose(as_admin, title_tl="Pista", body_tl="").get_data(as_text=True))
    assert "The tl title has no tl text" in page
    assert '<details class="language-text" id="language-tl" open>' in page  # shown again, open
    page = unescape(compose(as_admin, body_ko="가" * 2001).get_data(as_text=True))
    assert '<details class="language-text" id="language-ko" open>' in page and "2000" in page


def test_a_reminder_takes_a_title_and_text_per_language(as_admin, staff_app):
    response = as_admin.post("/staff/notices/reminders/new", {
        "age_months": "3", "title": "3か月健診", "body_ja": "3か月健診のご案内です。",
        "title_pt_BR": "Exame de 3 meses", "body_pt_BR": "Convite para o exame de 3 meses."})
    assert response.status_code == 302
    listing = as_admin.get("/staff/notices/reminders").get_data(as_text=True)
    assert "ja, pt-BR" in listing
    # A child of three months: the Brazilian guardian's reminder is in Portuguese, title too.
    from notices import reminders
    from notices.segments import months_back
    from notices.settings import NoticeSettings

    with staff_app.app_context(), db.transaction() as session:
        today = CITY.today(utcnow())
        g = guardian(session, language="pt-BR", children=(months_back(today, 3),))
        assert reminders.send_due(session, utcnow(), CITY, NoticeSettings()) == 1
        [notice] = session.scalars(select(Notice)).all()
        message = services.message_for(session, notice, "pt-BR")
        assert message["altText"] == "Aviso: Exame de 3 meses"
        assert g.resident_id in notice.segment["resident_ids"]


def test_the_language_rules():
    bodies = {"ja": "本文", "vi": "nội dung"}
    assert messages.language_for("vi", bodies) == "vi"
    assert messages.language_for("tl", bodies) == "ja"
    assert messages.falls_back("tl", bodies) and messages.falls_back("ja-easy", bodies)
    assert not messages.falls_back("ja", bodies) and not messages.falls_back("vi", bodies)
    assert messages.title_for("題名", {"vi": "Tiêu đề"}, "vi") == "Tiêu đề"
    assert messages.title_for("題名", None, "tl") == "題名"
    reach = Reach(6, 6, [], [], [("ja", 3), ("vi", 2), ("tl", 1)])
    rows = services.language_reach(bodies, reach.languages)
    assert [(r.code, r.reads, r.falls_back) for r in rows] == [
        ("ja", "ja", False), ("vi", "vi", False), ("tl", "ja", True)]
    assert services.missing_languages(bodies, ["ja", "vi", "tl", "ne"]) == ["tl", "ne"]
    assert services.compose_problem("t", {"ja": "x", "xx": "y"}, "news", None, None).startswith(
        "Unknown language 'xx'")


def test_topic_buttons_fit_lines_label_in_every_language():
    """A topic's name goes into "Stop ..." and "Resume ...": LINE cuts a label at 20."""
    long = [(code, label) for code in KNOWN for topic in TOPIC_LABELS.values()
            for message in ("Stop %(topic)s", "Resume %(topic)s")
            if len(label := translate(code, message, topic=translate(code, topic))) > 20]
    assert long == []


def test_closure_alerts_speak_every_resident_language(staff_app, line):
    from models import Center

    staff_app.config["RESIDENT_LANGUAGES"] = "ja,ja-easy,vi,ne"
    nepali, easy = uid(), uid()
    residents(staff_app, {nepali: "ne", easy: "ja-easy"})
    with staff_app.app_context(), db.transaction() as session:
        center = session.scalars(select(Center).where(Center.code == "central")).one()
        day = CITY.today(utcnow()) + timedelta(days=3)
        notice = services.close_center(session, center, day, "点検", utcnow(), CITY)
        assert set(notice.bodies) == {"ja", "ja-easy", "vi", "ne"}
        assert set(notice.titles) == {"ja-easy", "vi", "ne"}
    with staff_app.app_context():
        worker.drain(db.session, gateway())
    [to_ne], [to_easy] = line.received(nepali), line.received(easy)
    assert "बन्द रहनेछ" in bubble_texts(to_ne)[-1] and "कारण: 点検" in bubble_texts(to_ne)[-1]
    assert bubble_texts(to_easy)[-1].endswith("休みです。\nりゆう：点検")


def test_the_notices_list_and_settings_speak_the_residents_language(live_app, app, line):
    from models import Resident
    from tests.chat import Resident as ChatResident
    from tests.checkin_support import family
    from tests.notices_support import seeded

    seeded(app)
    person = ChatResident(line)
    family(app, [person.user_id])
    with app.app_context(), db.transaction() as session:
        resident = session.scalars(select(Resident).where(
            Resident.line_user_id == person.user_id)).one()
        resident.language = "vi"
        services.send_to_residents(session, [resident.id], title="健診", titles={"vi": "Khám"},
                                   bodies={"ja": "健診です。", "vi": "Có buổi khám."},
                                   topic="news", now=utcnow(), city=CITY, urgent=True)
    with app.app_context():
        worker.drain(db.session, gateway())
    person.say("お知らせ")
    listing = person.last()
    assert listing.startswith("[Thông báo] 1 tin gần nhất") and "Khám\nCó buổi khám." in listing
    person.tap("Cài đặt thông báo")
    assert "Tin thành phố: đang nhận" in person.last()
    person.tap("Dừng Tin thành phố")
    assert "Đã dừng nhận thông báo Tin thành phố." in "\n".join(person.texts()[-2:])
