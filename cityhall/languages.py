"""The languages residents read: which ones a deployment speaks, and how each maps to a
gettext catalogue, a Babel locale and the codes LINE sends.

`RESIDENT_LANGUAGES` (configuration, comma-separated, in the order the choice shows them)
names the languages spoken; each must be one of `KNOWN`. Adding a language is a catalogue
per package plus one line in `KNOWN` (docs/i18n/README.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from flask import current_app, has_app_context

DEFAULT_LANGUAGE = "ja"
DEFAULT_RESIDENT_LANGUAGES = "ja,ja-easy,en,zh-Hans,zh-Hant,ko,vi,pt-BR,tl,ne"
# Staff pages are Japanese first, English second; other languages are for residents.
STAFF_LANGUAGES: dict[str, str] = {"ja": "日本語", "en": "English"}


@dataclass(frozen=True)
class Language:
    """One language a resident may read."""

    code: str  # as LINE (BCP 47) writes it: "zh-Hant", "pt-BR"; stored on the resident
    name: str  # its own name in its own script, for the language choice
    catalogue: str  # the folder under each package's translations/: "zh_Hant", "ja@easy"
    locale: str  # the Babel locale for dates, times and numbers
    words: tuple[str, ...]  # what a resident types to change the language
    cancel: tuple[str, ...] = ()  # what a resident types to stop a form (beside "cancel")
    aliases: tuple[str, ...] = ()  # other codes a LINE profile may carry for it
    fallback: str | None = None  # the language a missing message is read in before English
    # Places (centers, districts, departments) have a Japanese and an English name: readers
    # of kanji see the Japanese one (as on the sign at the door), everyone else the English.
    place_names: str = "en"


KNOWN: dict[str, Language] = {lang.code: lang for lang in (
    Language("ja", "日本語", "ja", "ja", ("言語", "げんご"), ("キャンセル", "やめる", "中止"),
             place_names="ja"),
    Language("ja-easy", "やさしい にほんご", "ja@easy", "ja", ("ことば",), ("やめる",), fallback="ja",
             place_names="ja"),
    Language("en", "English", "en", "en", ("language", "languages"), ("cancel",)),
    Language("zh-Hans", "简体中文", "zh_Hans", "zh_Hans", ("语言",), ("取消",),
             aliases=("zh", "zh-cn", "zh-sg", "zh-hans-cn"), place_names="ja"),
    Language("zh-Hant", "繁體中文", "zh_Hant", "zh_Hant", ("語言",), ("取消",),
             aliases=("zh-tw", "zh-hk", "zh-mo", "zh-hant-tw"), place_names="ja"),
    Language("ko", "한국어", "ko", "ko", ("언어",), ("취소",), aliases=("ko-kr",)),
    Language("vi", "Tiếng Việt", "vi", "vi", ("ngôn ngữ", "ngon ngu"), ("hủy", "huy"),
             aliases=("vi-vn",)),
    Language("pt-BR", "Português", "pt_BR", "pt_BR", ("idioma", "língua", "lingua"), ("cancelar",),
             aliases=("pt", "pt-pt")),
    Language("tl", "Tagalog", "tl", "fil", ("wika",), ("kanselahin", "ikansela"),
             aliases=("fil", "fil-ph", "tl-ph")),
    Language("ne", "नेपाली", "ne", "ne", ("भाषा", "bhasa"), ("रद्द",), aliases=("ne-np",)),
)}


class LanguageConfigError(ValueError):
    """RESIDENT_LANGUAGES names a language we have no entry for."""


@cache  # every message a resident reads asks which languages are spoken: parse each setting once
def parse_languages(text: str | None) -> tuple[str, ...]:
    """Read "ja,en,vi" into known codes (empty: the default list); Japanese is always first."""
    codes = [c.strip() for c in (text or DEFAULT_RESIDENT_LANGUAGES).split(",") if c.strip()]
    by_lower = {code.lower(): code for code in KNOWN}
    unknown = [c for c in codes if c.lower() not in by_lower]
    if unknown:
        raise LanguageConfigError(f"RESIDENT_LANGUAGES: unknown language(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(KNOWN)}")
    found = [by_lower[c.lower()] for c in codes]
    ordered = [DEFAULT_LANGUAGE] + [c for c in found if c != DEFAULT_LANGUAGE]
    return tuple(dict.fromkeys(ordered))


def resident_languages() -> dict[str, Language]:
    """The languages this deployment speaks to residents, in the order the choice shows them."""
    if has_app_context() and "RESIDENT_LANGUAGES" in current_app.config:
        codes = current_app.config["RESIDENT_LANGUAGES"]
        codes = parse_languages(codes) if isinstance(codes, str) else tuple(codes)
    else:
        codes = parse_languages(os.environ.get("RESIDENT_LANGUAGES"))
    return _languages(codes)


@cache
def _languages(codes: tuple[str, ...]) -> dict[str, Language]:
    # Shared between callers, who only read it.
    return {code: KNOWN[code] for code in codes}


def language_names() -> dict[str, str]:
    """Code -> own name of every spoken language (for choices and staff pages)."""
    return {code: lang.name for code, lang in resident_languages().items()}


def get(code: str | None) -> Language:
    """The Language of a stored code; an unknown or dropped one reads as Japanese."""
    return KNOWN.get(code or "", KNOWN[DEFAULT_LANGUAGE])


def from_profile(code: str | None) -> str:
    """Map a LINE profile language ("en", "zh-Hant", "pt-BR", "zh-TW") to one we speak.

    An exact code first, then a known alias, then a language whose base matches ("pt" ->
    "pt-BR"); anything else, or nothing, is Japanese.
    """
    if not code:
        return DEFAULT_LANGUAGE
    spoken = resident_languages()
    wanted = code.strip().replace("_", "-").lower()
    for lang in spoken.values():
        if wanted == lang.code.lower() or wanted in lang.aliases:
            return lang.code
    base = wanted.split("-")[0]
    for lang in spoken.values():
        if lang.code.lower().split("-")[0] == base and lang.code != "ja-easy":
            return lang.code
    return DEFAULT_LANGUAGE


def cancel_words() -> tuple[str, ...]:
    """Every word that stops a running form, in every known language (each once)."""
    return tuple(dict.fromkeys(w for lang in KNOWN.values() for w in lang.cancel))


def change_words() -> dict[str, str]:
    """Every word that opens the language choice, in every known language -> its language."""
    return {word: lang.code for lang in KNOWN.values() for word in lang.words}


def place_name_language(code: str | None) -> str:
    """Which of a place's two names ("ja" or "en") a resident of this language reads."""
    return get(code).place_names
