"""Residents in their own language, through the emulator: the LINE profile's language at
follow, the choice in each language's own script, the words that open it, per-language rich
menus linked on a change, and registration, a check-in and an application in Vietnamese,
Brazilian Portuguese and easy Japanese with nothing Japanese leaking where a translation exists,
then an event reservation in the same language."""

from __future__ import annotations

import json
import re
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot import richmenu
from bot.cli import forms_group
from bot.flows.registry import forms
from cityhall.city import current_city
from cityhall.db import db
from cityhall.i18n import format_age, format_clock, format_day, format_number, translate
from cityhall.languages import KNOWN, change_words, from_profile, language_names, parse_languages
from events import services
from models import Resident as ResidentRow
from models import utcnow
from models.event import Event
from tests.chat import Resident
from tests.checkin_support import open_all_day, scan_text
from tests.events_support import last_flex, make_event, press
from tests.flows_helpers import query, seed_city, submissions

TODAY = utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()
CHILDCARE_DAY = TODAY + timedelta(days=7 if TODAY.weekday() != 6 else 8)
JAPANESE = re.compile(r"[\u3040-\u30fa\u30fc-\u30ff\u4e00-\u9fff]")  # not the bullet ・
# What the resident typed, and the kana examples every language keeps, may be Japanese.
TYPED = ("美濃加茂市太田町1-2-3", "グエン アン", "アン", "ヤマダ ハナコ", "ヤマダ タロウ")


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    open_all_day(app)
    return live_app


def stored_language(app, user_id: str) -> str:
    return query(app, lambda s: s.scalars(select(ResidentRow.language).where(
        ResidentRow.line_user_id == user_id)).one())


def form_text(form_id: str, language: str, pick) -> str:
    """A text of a shipped form in a language (pick: form -> per-language text)."""
    text = pick(forms().get(form_id))
    return text.get(language) or text["ja"]


# Configuration and mapping


def test_resident_languages_are_configuration_with_japanese_first():
    assert parse_languages(None) == ("ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi",
                                     "pt-BR", "tl", "ne")
    assert parse_languages("en, vi") == ("ja", "en", "vi")
    with pytest.raises(ValueError, match="unknown language.*xx"):
        parse_languages("ja,xx")


def test_an_unknown_language_in_the_configuration_stops_the_start_up():
    from cityhall.config import Config

    problems = Config(RESIDENT_LANGUAGES="ja,vi,klingon").problems()
    assert any("RESIDENT_LANGUAGES: unknown language(s) klingon" in p for p in problems)
    assert not any("RESIDENT_LANGUAGES" in p for p in Config(RESIDENT_LANGUAGES="").problems())


def test_each_language_has_a_catalogue_folder_and_a_babel_locale():
    from babel import Locale

    for lang in KNOWN.values():
        assert Locale.parse(lang.locale)
        folder = f"cityhall/translations/{lang.catalogue}"
        assert lang.code == "en" or (richmenu.Path(__file__).parents[1] / folder).is_dir(), folder


def test_dates_ages_and_times_follow_the_locale_and_stay_gregorian():
    day = date(2026, 12, 1)
    assert format_day("ja", day) == "2026年12月1日(火)"
    assert format_day("ja-easy", day) == "2026年12月1日（火よう日）"
    assert "2026" in format_day("vi", day) and "12" in format_day("vi", day)
    assert format_day("zh-Hant", day) == "2026年12月1日" and format_day("ko", day).startswith("2026")
    assert format_age("ja", 14) == "1歳2か月" and format_age("en", 14) == "1 year 2 months"
    assert format_age("vi", 14) == "1 tuổi 2 tháng" and format_age("pt-BR", 26) == "2 anos e 2 meses"
    assert format_age("en", 5) == "5 months" and format_age("ko", 24) == "2세"
    assert format_clock("ja", time(9, 5)) == "09:05" and format_clock("ja-easy", time(14, 30)) == "ごご2時30分"
    assert format_number("pt-BR", 1234.5) == "1.234,5" and format_number("ja", 1234.5) == "1,234.5"
    assert format_clock("ja-easy", time(12, 0)) == "ごご12時" and format_clock("en", time(14, 30)) == "2:30\u202fPM"


# Follow and the language choice


@pytest.mark.parametrize("profile, expected", [
    ("vi", "vi"), ("pt-BR", "pt-BR"), ("zh-Hant", "zh-Hant"), ("zh-TW", "zh-Hant"), ("ko", "ko"),
    ("ne", "ne"), ("en", "en"), ("th", "ja"),
])
def test_a_follower_is_greeted_in_the_profile_language(live_app, line, app, profile, expected):
    person = Resident(line, name="Mai", language=profile)
    person.follow()
    greeting, choice = person.texts()
    assert greeting.startswith(translate(expected, "Welcome to Smartphone City Hall, %(name)s!",
                                         name="Mai"))
    assert choice == translate(expected, "Please choose your language.")
    # Each language in its own script, all ten within LINE's 13 quick replies.
    assert person.labels() == ["日本語", "やさしい にほんご", "English", "简体中文", "繁體中文", "한국어",
                               "Tiếng Việt", "Português", "Tagalog", "नेपाली"]
    assert stored_language(app, person.user_id) == expected == from_profile(profile)


@pytest.mark.parametrize("word", list(change_words()))
def test_each_languages_word_for_language_opens_the_choice(live_app, line, word):
    person = Resident(line, language="ja")
    person.say(word)
    assert person.last() == "ご希望の言語を選んでください。/ Please choose your language."
    assert len(person.labels()) == len(language_names())


def test_choosing_a_language_answers_in_it_and_links_its_rich_menu(live_app, line, app):
    with app.app_context():
        from bot.gateway import gateway
        richmenu.install(gateway())
        menus = {code: gateway().rich_menu_of_alias(richmenu.alias_of(code))
                 for code in language_names()}
    person = Resident(line, name="Ana", language="pt-BR")
    person.follow()
    assert line.shown_rich_menu(person.user_id)["richMenuId"] == menus["pt-BR"]
    person.say("언어")
    person.tap("Tiếng Việt")
    assert person.last() == "Từ bây giờ tôi sẽ nói chuyện với bạn bằng tiếng Việt."
    assert stored_language(app, person.user_id) == "vi"
    shown = line.shown_rich_menu(person.user_id)
    assert shown["richMenuId"] == menus["vi"]
    assert [a["action"]["displayText"] for a in shown["areas"]][:2] == ["Đăng ký", "Check-in"]
    person.say("ngôn ngữ")
    person.tap("日本語")
    assert line.shown_rich_menu(person.user_id)["richMenuId"] == menus["ja"]


def test_menu_images_are_drawn_in_every_script():
    import io

    from PIL import Image

    for code in ("ne", "zh-Hant", "ko", "vi"):
        labels = "".join(richmenu.area_label(key, code) for key, _, _ in richmenu.MENU_AREAS)
        font = richmenu.font_for(code, labels)
        assert font is not None and richmenu.covers(font, labels), f"no font draws {code}"
        image = Image.open(io.BytesIO(richmenu.render_image(None, code)))
        assert image.size == (richmenu.WIDTH, richmenu.HEIGHT)


# Registration, a check-in and an application, in three languages


def register(person: Resident, lang: str, district: str) -> None:
    t = lambda message: translate(lang, message)  # noqa: E731
    person.menu("register")
    person.say("Nguyen An" if lang == "vi" else "Ana Souza")
    person.say("グエン アン")
    person.say("090-1234-5678")
    person.say("505-0041")
    person.say("美濃加茂市太田町1-2-3")
    person.tap(district)
    person.tap(t("Yes"))
    person.say("An")
    person.say("アン")
    person.pick_date(date(2023, 4, 10))
    person.tap(t("Skip"))
    person.tap(t("Skip"))
    person.tap(t("No"))
    person.tap(t("Send"))


def childcare(person: Resident, lang: str, button: str) -> None:
    """Apply for temporary childcare at the center whose button reads `button`."""
    t = lambda message: translate(lang, message)  # noqa: E731
    person.menu("apply")
    person.tap(form_text("childcare", lang, lambda f: f.title))
    person.tap(button)
    person.pick_date(CHILDCARE_DAY)
    person.pick_time("09:00")
    person.say("3")
    person.tap(form_text("childcare", lang, lambda f: f.field("reason").options[0].label))
    person.tap(t("Skip"))
    person.tap(t("Send"))


def no_japanese_leaks(texts: list[str]) -> list[str]:
    """Texts that still hold Japanese once what the resident typed is taken out."""
    cleaned = []
    for text in texts:
        for typed in TYPED:
            text = text.replace(typed, "")
        cleaned.append(text)
    return [t for t in cleaned if JAPANESE.search(t)]


def split_at(template: str) -> tuple[str, str]:
    """Return what comes before and after the time in a message built with time="\\0"."""
    before, _, after = template.partition("\0")
    return before, after


CASES = [
    # language, the district and center as that language reads them (the center's name on a
    # button: a short one where the name is longer than LINE's label), a mark of its script;
    # Vietnamese goes over real HTTP, the others through the in-process driver.
    pytest.param("vi", "Ota", ("Central Child Support Center", "Central Center"),
                 re.compile(r"[ăâđêôơưàáãèéìíòóõùúýỳ\u1ea0-\u1ef9]"), marks=pytest.mark.http,
                 id="vi"),
    pytest.param("pt-BR", "Ota", ("Central Child Support Center", "Central Center"),
                 re.compile(r"[ãçõéêáíóú]|\b(envie|escolha|tem|sim|não|nome|reserva|vagas)\b",
                            re.I), id="pt-BR"),
    pytest.param("ja-easy", "太田", ("中央子育て支援センター", "中央子育て支援センター"),
                 re.compile(r"ください|ます|した"), id="ja-easy"),
]


@pytest.mark.parametrize("lang, district, names, script", CASES)
def test_register_check_in_apply_and_reserve_in_the_residents_language(city, line, app, lang,
                                                                       district, names, script):
    center, button = names
    person = Resident(line, name="An", language="ja" if lang == "ja-easy" else lang)
    person.follow()
    if lang == "ja-easy":
        person.tap("やさしい にほんご")
        assert person.last() == "これから やさしい 日本語で 話します。"
    person.new_texts()
    register(person, lang, district)
    registration = person.new_texts()
    assert registration[-1] == form_text("registration", lang, lambda f: f.done)
    assert form_text("registration", lang, lambda f: f.field("name").prompt) in registration
    assert [t for t in registration if not script.search(t)] == []

    person.say(scan_text(app))
    checked_in = person.last().splitlines()[0]
    before, after = split_at(translate(lang, "Checked in at %(center)s at %(time)s: %(names)s.",
                                       center=center, time="\0", names="An"))
    assert checked_in.startswith(before) and checked_in.endswith(after), checked_in
    if lang == "ja-easy":
        assert re.search(r"(ごぜん|ごご)\d+時", checked_in)

    person.new_texts()
    childcare(person, lang, button)
    applying = person.new_texts()
    [sent] = submissions(app, "childcare")
    assert applying[-1] == translate(lang, "Sent. Your receipt number is %(receipt)s. We will "
                                           "tell you here when its status changes.",
                                     receipt=sent["receipt"])
    assert sent["answers"]["date"] == str(CHILDCARE_DAY) and sent["answers"]["hours"] == 3
    if lang != "ja-easy":
        # Nothing Japanese where a translation exists; the day in the resident's locale.
        assert no_japanese_leaks(registration + [checked_in] + applying) == []
        assert any(format_day(lang, CHILDCARE_DAY) in text for text in applying)
    else:
        # Easy Japanese: every sentence the bot wrote comes from the easy catalogue or form.
        assert "利用者登録" not in "".join(registration) and "お子さん" not in "".join(applying)

    # My data (a Flex card): the child's birth date and age in the resident's words.
    person.menu("mydata")
    shown = json.dumps(person.received()[-1], ensure_ascii=False)
    born = date(2023, 4, 10)
    months = (TODAY.year - born.year) * 12 + TODAY.month - born.month - (TODAY.day < born.day)
    assert f"{format_day(lang, born)} ({format_age(lang, months)})" in shown

    reserve_an_event(person, app, lang, center, script)


def reserve_an_event(person: Resident, app, lang: str, center: str, script) -> None:
    """The events carousel, a one-tap reservation and the list of reservations, all in the
    resident's language: every text is the catalogue's, nothing Japanese where it has a word."""
    t = lambda message, **values: translate(lang, message, **values)  # noqa: E731
    event_id = make_event(app, days=3, at="10:00", title_ja="親子リトミック",
                          title_en="Rhythm for parents and children")
    with app.app_context(), db.session() as session:
        event = session.get(Event, event_id)
        when, title = services.when_text(event, current_city(), lang), event.title(lang)
        day = current_city().local(event.starts_at).date()
    # Kanji readers read the staff's Japanese title; everyone else the English one.
    assert title == ("親子リトミック" if lang == "ja-easy" else "Rhythm for parents and children")
    assert format_day(lang, day) in when  # the Gregorian date in the resident's locale
    if lang == "ja-easy":
        assert "ごぜん10時から" in when and "ごぜん11時30分まで" in when
    person.new_texts()
    person.menu("events")
    flex = last_flex(person)
    assert flex["altText"] == t("Upcoming events (%(count)s)", count=1)
    shown = [c["text"] for c in flex["contents"]["contents"][0]["body"]["contents"]]
    assert shown == [title, when, center, t("%(free)s places left", free=10),
                     t("For: %(names)s", names="An")]
    assert [q["action"]["label"] for q in flex["quickReply"]["items"]] == [t("My reservations")]
    press(person, t("Reserve"), flex)
    reserved = person.last()
    assert reserved == t("Reserved: %(title)s, %(when)s, at %(place)s, for %(names)s. We will "
                         "remind you the day before.", title=title, when=when, place=center,
                         names="An")
    person.tap(t("My reservations"))
    mine = person.last()
    assert mine == t("Reserved: %(title)s, %(when)s", title=title, when=when)
    assert person.labels() == [t("Cancel: %(title)s", title=title)[:20]]
    assert [text for text in (reserved, mine) if not script.search(text)] == []
    if lang == "ja-easy":
        assert "予約" not in reserved + mine and "保護者" not in "".join(shown)
    else:
        assert no_japanese_leaks([flex["altText"], *shown, reserved, mine]) == []


# Forms: a language a form lacks never breaks it


LACKING = """
id: lost_item
title: {ja: 落とし物, en: Lost item, vi: Đồ thất lạc}
department: citizens
receipt_prefix: L
fields:
  - {id: what, type: text, label: {ja: 品物, en: Item}, prompt: {ja: 何を？, en: "What"}}
"""


def test_forms_check_warns_about_missing_languages_but_accepts_the_form(tmp_path):
    path = tmp_path / "lost_item.yaml"
    path.write_text(LACKING, encoding="utf-8")
    result = CliRunner().invoke(forms_group, ["check", str(path)])
    assert result.exit_code == 0 and "ok: lost_item" in result.output
    assert f"warning: {path}: no vi text for fields[what].label, fields[what].prompt " \
           "(Japanese is shown)" in result.output
    assert f"warning: {path}: no ne text for title, fields[what].label" in result.output


def test_forms_check_refuses_an_unknown_language(tmp_path):
    path = tmp_path / "lost_item.yaml"
    path.write_text(LACKING.replace("vi: Đồ", "xx: Đồ"), encoding="utf-8")
    result = CliRunner().invoke(forms_group, ["check", str(path)])
    assert result.exit_code == 1 and "title: unknown language(s) ['xx']" in result.output


def test_a_form_without_the_residents_language_is_shown_in_japanese():
    import yaml

    from bot.flows import engine
    from bot.flows.schema import form_from_data

    form = form_from_data(yaml.safe_load(LACKING), "lost_item.yaml")
    reader = type("Reader", (), {"language": "ne"})()
    assert engine._title(reader, form) == "落とし物"
    reader.language = "vi"
    assert engine._title(reader, form) == "Đồ thất lạc"


# Staff see the language each resident reads


def test_staff_see_the_residents_language_on_the_roster_and_the_inbox(city, line, app):
    from tests.staff_support import StaffClient, seed_staff

    seed_staff(app)
    person = Resident(line, name="An", language="vi")
    person.follow()
    register(person, "vi", "Ota")
    person.say(scan_text(app))
    childcare(person, "vi", "Central Center")
    staff = StaffClient(app)
    assert staff.login("central").status_code == 302
    roster = staff.get("/staff/checkin/central/").get_data(as_text=True)
    assert '<td lang="vi">Tiếng Việt</td>' in roster
    data = staff.get("/staff/api/checkin/central/roster").get_json()
    assert (data["visits"][0]["language"], data["visits"][0]["language_code"]) == ("Tiếng Việt", "vi")
    inbox = staff.get("/staff/applications/").get_data(as_text=True)
    assert '<td lang="vi">Tiếng Việt</td>' in inbox


def test_a_message_missing_from_a_catalogue_falls_back_sensibly():
    # Staff-only messages are not translated for residents: easy Japanese reads them in
    # Japanese, the other languages in English (the msgid), never an empty string.
    assert translate("ja-easy", "Applicant") == translate("ja", "Applicant") == "申請者"
    assert translate("vi", "Applicant") == "Applicant"
    assert translate("xx", "Register") == translate("ja", "Register")  # unknown: Japanese


def test_languages_command_prints_each_languages_completeness():
    from cityhall.cli import languages_command

    result = CliRunner().invoke(languages_command)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("|")]
    # The translated packages first; features not translated yet follow with their share.
    assert lines[0].startswith("| code | language | cityhall | residents | checkin |")
    vietnamese = next(line for line in lines if line.startswith("| `vi` |"))
    assert vietnamese.startswith("| `vi` | Tiếng Việt | 100 % | 100 % | 100 % |")
    assert len(lines) == 12
