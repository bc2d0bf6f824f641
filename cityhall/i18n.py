"""Gettext for residents and staff: Japanese first, English second, more as catalogues.

Residents read the languages of `cityhall.languages` (RESIDENT_LANGUAGES); staff pages speak
Japanese and English. Dates, times, ages and numbers a resident reads go through the
`format_*` functions here: Babel in the resident's locale, always the Gregorian calendar.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import Babel

from cityhall import languages
from cityhall.languages import DEFAULT_LANGUAGE, STAFF_LANGUAGES


def translation_dirs() -> list[Path]:
    """Return the catalogue folders of the core and the loaded features, in load order."""
    from cityhall.features import current

    return current().translation_folders()


def staff_translation_dirs() -> list[Path]:
    """Return every catalogue, staff-only ones last: a later catalogue's wording wins a clash."""
    from cityhall.features import current

    residents = current().translation_folders(residents=True)
    return residents + [d for d in current().translation_folders() if d not in residents]


def resident_translation_dirs() -> list[Path]:
    """Return the catalogues residents read: every one but the staff web's."""
    from cityhall.features import current

    return current().translation_folders(residents=True)


babel = Babel()


def normalize_language(code: str | None) -> str:
    """Map a LINE profile language ("en", "ja", "zh-Hant", "pt-BR", ...) to one we speak."""
    return languages.from_profile(code)


def spoken(code: str | None) -> str:
    """The stored language if this deployment still speaks it, else Japanese."""
    return code if code in languages.resident_languages() else DEFAULT_LANGUAGE


def _select_locale() -> str:
    """Use the language chosen in the session; Japanese first, whatever the browser says."""
    chosen = session.get("lang") if request else None
    return chosen if chosen in STAFF_LANGUAGES else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the loaded features' catalogues (call after features.load)."""
    with app.app_context():
        directories = staff_translation_dirs()
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=";".join(str(d) for d in directories))


def catalogue(language: str) -> NullTranslations:
    """Return one language's catalogue merged from the loaded features' (read once).

    A message a catalogue lacks is read in the language's fallback (easy Japanese: Japanese),
    else as its msgid, which is English.
    """
    from cityhall.features import current

    # Kept with the loaded features (one set per app), so a message costs a dict lookup.
    merged = current().cache.setdefault("i18n.catalogues", {})
    found = merged.get(language)
    if found is None:
        found = merged[language] = _merged(language, tuple(resident_translation_dirs()))
    return found


@cache
def _merged(language: str, directories: tuple[Path, ...]) -> NullTranslations:
    lang = languages.get(language)
    merged = Translations()
    for directory in directories:
        found = Translations.load(str(directory), [lang.catalogue])
        # gettext would take a parent folder ("ja" for "ja@easy"); only the language's own counts.
        if isinstance(found, Translations) and Path(found.files[0]).parts[-3] == lang.catalogue:
            merged.merge(found)
    if lang.fallback:
        merged.add_fallback(_merged(lang.fallback, directories))
    return merged


def translate(language: str | None, message: str, **variables: object) -> str:
    """Translate a resident-facing message into the resident's language.

    Works without a request (worker, clock, CLI), unlike Flask-Babel's gettext, which
    staff pages use through their request's locale.
    """
    text = catalogue(spoken(language)).gettext(message)
    return text % variables if variables else text


def locale_of(language: str | None) -> str:
    """The Babel locale for a resident's dates and numbers."""
    return languages.get(spoken(language)).locale


# Easy Japanese spells dates and times out in words a beginner reads (no era, no symbols).
EASY_WEEKDAYS = "月火水木金土日"


def format_day(language: str | None, day: date | datetime) -> str:
    """A day as the resident reads it: 2026年12月1日(火), Dec 1, 2026, 1 thg 12, 2026 ..."""
    if isinstance(day, datetime):
        day = day.date()
    code = spoken(language)
    weekday = EASY_WEEKDAYS[day.weekday()]
    if code == "ja-easy":
        return f"{day.year}年{day.month}月{day.day}日（{weekday}よう日）"
    if code == "ja":
        return f"{day.year}年{day.month}月{day.day}日({weekday})"
    return format_date(day, "medium", locale=locale_of(code))


def format_clock(language: str | None, moment: time | datetime) -> str:
    """A time of day in the resident's locale (24-hour in Japanese, words in easy Japanese)."""
    if isinstance(moment, datetime):
        moment = moment.time()
    if spoken(language) == "ja":
        return moment.strftime("%H:%M")
    if spoken(language) == "ja-easy":
        half = "ごぜん" if moment.hour < 12 else "ごご"
        hour = 12 if moment.hour == 12 else moment.hour % 12
        return f"{half}{hour}時" + (f"{moment.minute}分" if moment.minute else "")
    return format_time(moment, "short", locale=locale_of(language))


def format_moment(language: str | None, moment: datetime) -> str:
    """A day and time of day, each as format_day and format_clock write them."""
    return f"{format_day(language, moment)} {format_clock(language, moment)}"


def format_number(language: str | None, number: float) -> str:
    """A number with the resident's digit grouping (1,234 / 1.234 / 1 234)."""
    return format_decimal(number, locale=locale_of(language))


def format_age(language: str | None, months: int) -> str:
    """An age from months: 1歳2か月, 1 year 2 months, 1 tuổi 2 tháng (months alone under 1)."""
    years, rest = divmod(max(0, months), 12)
    month_part = (translate(language, "1 month") if rest == 1
                  else translate(language, "%(months)s months", months=rest))
    if years == 0:
        return month_part
    year_part = (translate(language, "1 year") if years == 1
                 else translate(language, "%(years)s years", years=years))
    if rest == 0:
        return year_part
    return translate(language, "%(years)s %(months)s", years=year_part, months=month_part)
