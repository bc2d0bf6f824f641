"""Gettext for residents and staff: Japanese first, English second, more as catalogues."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import Babel

# Languages a resident can choose, with the name shown in that language.
RESIDENT_LANGUAGES: dict[str, str] = {"ja": "日本語", "en": "English"}
DEFAULT_LANGUAGE = "ja"


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
    """Map a LINE profile language ("en", "ja", "zh-Hant", ...) to one we speak."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.split("-")[0].lower()
    return base if base in RESIDENT_LANGUAGES else DEFAULT_LANGUAGE


def _select_locale() -> str:
    """Use the language chosen in the session; Japanese first, whatever the browser says."""
    chosen = session.get("lang") if request else None
    return chosen if chosen in RESIDENT_LANGUAGES else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the loaded features' catalogues (call after features.load)."""
    with app.app_context():
        directories = staff_translation_dirs()
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=";".join(str(d) for d in directories))


def catalogue(language: str) -> NullTranslations:
    """Return one language's catalogue merged from the loaded features' (read once)."""
    return _merged(language, tuple(resident_translation_dirs()))


@cache
def _merged(language: str, directories: tuple[Path, ...]) -> NullTranslations:
    merged = Translations()
    for directory in directories:
        merged.merge(Translations.load(str(directory), [language]))
    return merged


def translate(language: str | None, message: str, **variables: object) -> str:
    """Translate a resident-facing message into the resident's language.

    Works without a request (worker, clock, CLI), unlike Flask-Babel's gettext, which
    staff pages use through their request's locale.
    """
    text = catalogue(normalize_language(language)).gettext(message)
    return text % variables if variables else text
