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


STAFF_PACKAGE = "staff"


def translation_dirs(packages: list[str] | None = None) -> list[Path]:
    """Return the catalogue folders of these (default: all) feature packages that have one."""
    dirs = [PROJECT_ROOT / name / "translations" for name in packages or FEATURE_PACKAGES]
    return [d for d in dirs if d.is_dir()]


def staff_translation_dirs() -> list[Path]:
    """Return every catalogue, the staff web's last: a later catalogue's wording wins a clash."""
    others = [name for name in FEATURE_PACKAGES if name != STAFF_PACKAGE]
    return translation_dirs(others + [STAFF_PACKAGE])


def resident_translation_dirs() -> list[Path]:
    """Return the catalogues residents read: every one but the staff web's."""
    return translation_dirs([name for name in FEATURE_PACKAGES if name != STAFF_PACKAGE])

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
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories=";".join(
        str(d) for d in staff_translation_dirs()))


@cache
def catalogue(language: str) -> NullTranslations:
    """Load and merge one language's compiled catalogues once per process."""
    merged = Translations()
    for directory in resident_translation_dirs():
        merged.merge(Translations.load(str(directory), [language]))
    return merged


def translate(language: str | None, message: str, **variables: object) -> str:
    """Translate a resident-facing message into the resident's language.

    Works without a request (worker, clock, CLI), unlike Flask-Babel's gettext, which
    staff pages use through their request's locale.
    """
    text = catalogue(normalize_language(language)).gettext(message)
    return text % variables if variables else text
