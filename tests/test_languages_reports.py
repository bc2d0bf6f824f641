"""Reports in the resident's language, through the emulator: residents whose LINE profile is
Vietnamese or Brazilian Portuguese, and one who chose easy Japanese, file a report (category
quick reply, a photo as image content, a location, a comment, the 50 m duplicate offer, the
receipt) and get a status push; every answer is the catalogue's text in that language, and
nothing Japanese leaks where a translation exists (place names and what the resident typed
aside). Staff write the public comment per language: a Vietnamese follower gets the
Vietnamese comment, a Nepali reporter with no Nepali text gets the Japanese one."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cityhall.db import db
from cityhall.i18n import format_day, translate
from models import utcnow
from models.report import Report, ReportChange, ReportStatus
from reports import services
from tests.chat import Resident
from tests.reports_support import INSIDE, RECEIPT, drain, file_direct, gps_jpeg, tap_data
from tests.staff_support import StaffClient, seed_staff

JAPANESE = re.compile(r"[\u3040-\u30fa\u30fc-\u30ff\u4e00-\u9fff]")  # not the bullet ・
ADDRESS = "岐阜県美濃加茂市太田町3431-1"  # a place name, as LINE's location message gives it
NEARBY = (INSIDE[0] + 0.0002, INSIDE[1])  # about 22 m north: offered as a duplicate
COMMENTS = {"vi": "Có ổ gà lớn trên vỉa hè.", "pt-BR": "Tem um buraco grande na calçada.",
            "ja-easy": "みちに あなが あります。"}
CITY_COMMENT = {"ja": "明日、補修します。", "vi": "Ngày mai chúng tôi sẽ sửa.",
                "pt-BR": "Vamos consertar amanhã."}


@pytest.fixture
def city(live_app, app):
    seed_staff(app)
    return live_app


def newcomer(line, lang: str, name: str = "An") -> Resident:
    """A resident who follows with the language's LINE profile (easy Japanese: chosen)."""
    person = Resident(line, name=name, language="ja" if lang == "ja-easy" else lang)
    person.follow()
    if lang == "ja-easy":
        person.tap("やさしい にほんご")
    person.new_texts()
    return person


def leaks(texts: list[str], *allowed: str) -> list[str]:
    """Texts that still hold Japanese once place names and typed words are taken out."""
    found = []
    for text in texts:
        for word in allowed:
            text = text.replace(word, "")
        if JAPANESE.search(text):
            found.append(text)
    return found


def walk(person: Resident, lang: str, app) -> tuple[str, list[str]]:
    """File a report the way a parent would; return its receipt and what the bot said."""
    t = lambda message, **v: translate(lang, message, **v)  # noqa: E731
    person.menu("report")
    assert person.last() == t("What would you like to report? Choose a category.")
    road = t("Road")
    assert person.labels()[:7] == [t(n) for n in ("Road", "Park or playground", "Street light",
                                                  "Fallen tree", "Illegal dumping",
                                                  "Disaster damage", "Other")]
    assert person.labels()[7:] == [t("My reports"), t("Stop reporting")]
    person.tap(road)
    assert person.texts()[-2:] == [t("Category: %(name)s", name=road), t(
        "Send one to four photos and the place (tap \"Send location\", or type the address), "
        "in any order.")]
    assert person.labels() == [t("Camera"), t("Photos"), t("Send location"), t("Stop reporting")]
    person.send_image(gps_jpeg())
    assert person.texts()[-2:] == [t("Photo %(n)s of up to 4 received.", n=1), t(
        "Now send the place: tap \"Send location\", or type the address.")]
    person.send_location(*INSIDE, address=ADDRESS)
    assert person.texts()[-2:] == [t("Place received: %(address)s", address=ADDRESS), t(
        "Add a short comment (what is wrong, where exactly), or tap \"Skip\". You can still "
        "send more photos (up to four).")]
    person.say(COMMENTS[lang])
    assert person.last() == t("May the city contact you about this report? (Your name is "
                              "never shown to the public.)")
    assert person.labels() == [t("Yes"), t("No"), t("Stop reporting")]
    person.tap(t("Yes"))
    # A road report 22 m away is offered first, its day in the resident's locale.
    with app.app_context(), db.session() as session:
        other = session.scalars(select(Report).order_by(Report.id)).first()
        day = format_day(lang, other.created_at.astimezone(services_zone(app)))
    assert person.last().splitlines() == [
        t("Is it one of these? Reports of the same kind within 50 m:"),
        t("・%(receipt)s, %(distance)s m away, %(status)s, since %(day)s", receipt=other.receipt_no,
          distance=22, status=t("Report received"), day=day),
        t("Follow one to get its updates, or send yours as a new report.")]
    assert person.labels() == [t("Follow %(receipt)s", receipt=other.receipt_no[-6:]),
                               t("No, send mine"), t("Stop reporting")]
    person.tap(t("No, send mine"))
    receipt = RECEIPT.search(person.last()).group(0)
    assert person.last() == t(
        "Thank you! Your report was received. Receipt number: %(receipt)s\nYou will get a "
        "message here whenever its status changes. See \"My reports\" any time.", receipt=receipt)
    return receipt, person.new_texts()


def services_zone(app):
    with app.app_context():
        from cityhall.city import current_city

        return current_city().zone


CASES = [pytest.param("vi", marks=pytest.mark.http, id="vi-http"),
         pytest.param("pt-BR", id="pt-BR"), pytest.param("ja-easy", id="ja-easy")]


@pytest.mark.parametrize("lang", CASES)
def test_a_report_and_its_update_in_the_residents_language(city, app, line, lang):
    file_direct(app, "road", point=NEARBY)  # a neighbour's report, offered as a duplicate
    person = newcomer(line, lang)
    receipt, said = walk(person, lang, app)
    with app.app_context(), db.transaction() as session:
        report = services.lock(session, session.scalars(select(Report.id).where(
            Report.receipt_no == receipt)).one())
        assert report.comment == COMMENTS[lang] and len(report.photos) == 1
        services.change_status(session, report, ReportStatus.IN_PROGRESS, utcnow(), by="roads",
                               public_comment=CITY_COMMENT["ja"],
                               translations={"vi": CITY_COMMENT["vi"],
                                             "pt-BR": CITY_COMMENT["pt-BR"]})
    drain(app)
    t = lambda message, **v: translate(lang, message, **v)  # noqa: E731
    update = person.last()
    comment = CITY_COMMENT.get(lang, CITY_COMMENT["ja"])  # easy Japanese: the Japanese comment
    assert update == "\n".join([
        t("Update on your report %(receipt)s (%(category)s): %(status)s", receipt=receipt,
          category=t("Road"), status=t("Work in progress")),
        t("Comment from the city: %(comment)s", comment=comment)])
    if lang != "ja-easy":
        assert leaks(said + [update], ADDRESS) == []
        assert t("Work in progress") != "Work in progress"  # the catalogue's, not the msgid
    else:
        # Easy Japanese: every sentence is the easy catalogue's, never the plain Japanese one.
        for message in ("What would you like to report? Choose a category.", "Road",
                        "Work in progress", "My reports", "Report received"):
            assert t(message) != translate("ja", message), message
        assert "通報" not in "".join(said + [update])


# Staff write the public comment per language; Japanese is everyone else's


def file_in_chat(person: Resident, point=INSIDE) -> None:
    """Category, photo, place, no comment, no contact (taps by postback data: any language)."""
    person.menu("report")
    tap_data(person, "rp.cat:road")
    person.send_image(gps_jpeg())
    person.send_location(*point, address=ADDRESS)
    tap_data(person, "rp.ans:comment:skip")
    tap_data(person, "rp.ans:contact:no")


def test_each_reader_gets_the_comment_in_their_language_or_the_japanese_one(city, app, line):
    reporter = newcomer(line, "ne", name="Sita")
    file_in_chat(reporter)
    receipt = RECEIPT.search(reporter.last()).group(0)
    followers = {lang: newcomer(line, lang, name=f"F {lang}") for lang in ("vi", "ja")}
    for person in followers.values():
        file_in_chat(person, NEARBY)
        tap_data(person, "rp.follow:")
    with app.app_context(), db.session() as session:
        report_id = session.scalars(select(Report.id).where(Report.receipt_no == receipt)).one()

    staff = StaffClient(app)
    assert staff.login("roads").status_code == 302
    path = f"/staff/reports/{report_id}"
    page = staff.get(path).get_data(as_text=True)
    assert '<span lang="ne">नेपाली</span>' in page  # the reporter's language
    assert re.search(r'class="readers"><span lang="ja">日本語</span> 1, <span lang="vi">Tiếng '
                     r'Việt</span> 1, <span lang="ne">नेपाली</span> 1', page)
    # A field per language, labelled in its own script; readers' languages are marked.
    assert '<label for="st-comment_vi" lang="vi">Tiếng Việt</label>' in page
    assert '<label for="st-comment_pt_BR" lang="pt-BR">Português</label>' in page
    assert re.findall(r'fallback-mark" data-language="([\w-]+)"', page) == ["vi", "ne"]

    # A translation without the Japanese comment is refused, and nothing is pushed.
    refused = staff.post(path + "/status", {"st-status": "in_progress",
                                            "st-comment_vi": CITY_COMMENT["vi"]})
    assert refused.status_code == 400
    assert "日本語のコメントも書いてください" in refused.get_data(as_text=True)

    saved = staff.post(path + "/status", {"st-status": "in_progress",
                                          "st-public_comment": CITY_COMMENT["ja"],
                                          "st-comment_vi": CITY_COMMENT["vi"]},
                       follow_redirects=True)
    shown = saved.get_data(as_text=True)
    assert saved.status_code == 200
    assert "うち1人には、その言語の文がないため日本語のコメントを送ります：नेपाली 1。" in shown
    assert "その言語の文がないため日本語で送信：" in shown and CITY_COMMENT["vi"] in shown
    with app.app_context(), db.session() as session:
        change = session.scalars(select(ReportChange).where(
            ReportChange.report_id == report_id, ReportChange.kind == "status")).one()
        assert change.public_comment == CITY_COMMENT["ja"]
        assert change.public_comments == {"vi": CITY_COMMENT["vi"]}
        assert change.detail["japanese_instead"] == {"ne": 1}

    drain(app)

    def expected(lang: str, comment: str) -> str:
        t = lambda message, **v: translate(lang, message, **v)  # noqa: E731
        return "\n".join([t("Update on your report %(receipt)s (%(category)s): %(status)s",
                             receipt=receipt, category=t("Road"), status=t("Work in progress")),
                          t("Comment from the city: %(comment)s", comment=comment)])

    assert followers["vi"].last() == expected("vi", CITY_COMMENT["vi"])
    assert reporter.last() == expected("ne", CITY_COMMENT["ja"])
    assert followers["ja"].last() == expected("ja", CITY_COMMENT["ja"])
    assert "नेपाली" not in reporter.last() and "रिपोर्ट" in reporter.last()


def test_a_comment_too_long_in_any_language_is_refused_at_its_field(city, app):
    report = file_direct(app, "road")
    staff = StaffClient(app)
    assert staff.login("roads").status_code == 302
    refused = staff.post(f"/staff/reports/{report}/status", {
        "st-status": "in_progress", "st-public_comment": "補修します。",
        "st-comment_pt_BR": "x" * 501})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert re.search(r'<textarea aria-invalid="true" id="st-comment_pt_BR"[^>]*>\s*x{501}'
                     r'</textarea>\s*<p class="error">フィールドは 500 文字を超える', page)
    with app.app_context(), db.session() as session:
        assert session.get(Report, report).status == ReportStatus.RECEIVED


def test_category_names_and_comments_follow_the_readers_language(app):
    from models.report import ReportCategory

    shipped = ReportCategory(code="road", name_ja="道路", name_en="Road")
    added = ReportCategory(code="snow", name_ja="除雪", name_en="Snow clearing")
    assert services.category_label(shipped, "ja") == "道路"
    assert services.category_label(shipped, "vi") == translate("vi", "Road") != "Road"
    assert services.category_label(shipped, "ja-easy") == "道"
    # A category the city added: kanji readers read its Japanese name, others its English one.
    assert services.category_label(added, "zh-Hant") == "除雪"
    assert services.category_label(added, "ne") == "Snow clearing"
    comments = {"ja": "補修します。", "vi": "Sẽ sửa."}
    assert services.comment_for(comments, "vi") == "Sẽ sửa."
    assert services.comment_for(comments, "ja-easy") == services.comment_for(comments, "en") \
        == "補修します。"
    assert services.comment_for({}, "vi") is None
