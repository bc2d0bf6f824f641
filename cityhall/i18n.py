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
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

babel = Babel()


def normalize_language(code: str | None) -> str:
    """Map a LINE profile language ("en", "ja", "zh-Hant", ...) to one we speak."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.split("-")[0].lower()
    return base if base in RESIDENT_LANGUAGES else DEFAULT_LANGUAGE


def _select_locale() -> str:
    chosen = session.get("lang") if request else None
    if chosen in RESIDENT_LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(RESIDENT_LANGUAGES)) or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories="translations")


@cache
def catalogue(language: str) -> NullTranslations:
    """Load one language's compiled catalogue once per process."""
    return Translations.load(str(TRANSLATIONS_DIR), [language])


def translate(language: str | None, message: str, **variables: object) -> str:
    """Translate a resident-facing message into the resident's language.

    Works without a request (worker, clock, CLI), unlike Flask-Babel's gettext, which
    staff pages use through their request's locale.
    """
    text = catalogue(normalize_language(language)).gettext(message)
    return text % variables if variables else text
