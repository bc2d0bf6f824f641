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
# Each feature package keeps its own catalogue under <package>/translations, so features
# never edit one shared file; all are merged. A new feature adds its package name here.
FEATURE_PACKAGES = ["cityhall", "bot", "staff", "residents", "checkin", "dashboards",
                    "notices", "events", "reports"]
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def translation_dirs() -> list[Path]:
    """Return the catalogue folders of every feature package that has one."""
    dirs = [PROJECT_ROOT / name / "translations" for name in FEATURE_PACKAGES]
    return [d for d in dirs if d.is_dir()]

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
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories=";".join(
        str(d) for d in translation_dirs()))


@cache
def catalogue(language: str) -> NullTranslations:
    """Load and merge one language's compiled catalogues once per process."""
    merged = Translations()
    for directory in translation_dirs():
        merged.merge(Translations.load(str(directory), [language]))
    return merged


def translate(language: str | None, message: str, **variables: object) -> str:
    """Translate a resident-facing message into the resident's language.

    Works without a request (worker, clock, CLI), unlike Flask-Babel's gettext, which
    staff pages use through their request's locale.
    """
    text = catalogue(normalize_language(language)).gettext(message)
    return text % variables if variables else text
