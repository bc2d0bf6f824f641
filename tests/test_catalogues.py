"""Every resident language's catalogue is complete and safe for LINE, and easy Japanese is easy.

The packages checked are those whose catalogues have been translated into every resident
language (TRANSLATED). A new feature joins the list once its catalogues are (see the
checklist in docs/architecture.md): until then its residents read English, or Japanese in
easy Japanese, and this test does not break the build.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from cityhall.catalogues import completeness, read, resident_messages
from cityhall.languages import KNOWN, parse_languages

TRANSLATED = ("cityhall", "residents", "checkin", "notices", "events", "reports")
# English is the msgid itself; Japanese is checked by tests/test_i18n.py.
LANGUAGES = [code for code in parse_languages(None) if code not in ("ja", "en")]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
LABEL_LIMIT = 20  # LINE: a quick reply's or a button's label
TEXT_LIMIT = 400  # LINE: a Flex message's altText, the shortest text limit a message may meet
CASES = [(pkg, code) for pkg in TRANSLATED for code in LANGUAGES]
ROOT = Path(__file__).resolve().parents[1]


def entries(package: str, code: str) -> dict[str, str]:
    catalogue = read(package, KNOWN[code].catalogue)
    assert catalogue is not None, f"{package} has no {KNOWN[code].catalogue} catalogue"
    return {m.id: m.string for m in catalogue if m.id and isinstance(m.id, str)
            and m.id in resident_messages(package)}


def is_label(msgid: str) -> bool:
    """A short message without a sentence's end may be a button or quick-reply label."""
    return (len(msgid) <= LABEL_LIMIT and not msgid.startswith("[")  # "[My data]": a heading
            and ": %(" not in msgid  # "Partners: %(names)s": a line of a card
            and not msgid.rstrip().endswith((".", "?", "!", ":")))


@pytest.mark.parametrize("package, code", CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_every_resident_message_is_translated_and_none_is_fuzzy(package, code):
    found = completeness(package, KNOWN[code].catalogue)
    assert found.missing == () and found.fuzzy == (), \
        f"{package} {code}: translate these (`make i18n PKG={package}`, then edit the .po)"


@pytest.mark.parametrize("package, code", CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_placeholders_are_kept_exactly(package, code):
    wrong = {msgid: text for msgid, text in entries(package, code).items() if text and
             set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(text))}
    assert wrong == {}


@pytest.mark.parametrize("package, code", CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_labels_fit_line_and_texts_fit_every_message_kind(package, code):
    found = entries(package, code)
    long_labels = {m: t for m, t in found.items()
                   if is_label(m) and len(PLACEHOLDER.sub("", t)) > LABEL_LIMIT}
    long_texts = {m: len(t) for m, t in found.items() if len(t) > TEXT_LIMIT}
    assert long_labels == {} and long_texts == {}


@pytest.mark.parametrize("package, code", CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_no_translation_is_left_in_english_or_japanese(package, code):
    """A foreign-language catalogue whose text equals the msgid or the Japanese is untranslated."""
    japanese = {m.id: m.string for m in read(package, "ja") if m.id}
    same = [m for m, t in entries(package, code).items()
            if len(PLACEHOLDER.sub("", m).strip()) > 12 and (t == m or (code != "ja-easy" and t == japanese.get(m)))]
    assert same == []


# Easy Japanese: the 2020 guideline (Immigration Services Agency, Agency for Cultural Affairs)
# asks for short sentences, common words, and plain polite forms without honorific chains.
COMMON_KANJI = {ch for line in (ROOT / "docs/i18n/common-kanji.txt").read_text("utf-8").splitlines()
                if not line.startswith("#") for ch in line.strip()}
SENTENCE_LIMIT = 45  # characters per sentence, placeholders not counted
HONORIFIC_CHAINS = ("させていただ", "いただけますでしょうか", "ございます", "申し上げ", "いたします",
                    "くださいませ", "お願い申", "ご確認", "ご利用", "なさって", "ご覧")
EASY = [pkg for pkg in TRANSLATED]


def is_kanji(ch: str) -> bool:
    return "CJK UNIFIED IDEOGRAPH" in unicodedata.name(ch, "")


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?])|\n", PLACEHOLDER.sub("", text)) if s.strip()]


@pytest.mark.parametrize("package", EASY)
def test_easy_japanese_uses_only_common_kanji(package):
    rare = {m: sorted({ch for ch in t if is_kanji(ch) and ch not in COMMON_KANJI})
            for m, t in entries(package, "ja-easy").items()}
    assert {m: r for m, r in rare.items() if r} == {}


@pytest.mark.parametrize("package", EASY)
def test_easy_japanese_sentences_are_short(package):
    long = {m: s for m, t in entries(package, "ja-easy").items() for s in sentences(t)
            if len(s.replace(" ", "")) > SENTENCE_LIMIT}
    assert long == {}


@pytest.mark.parametrize("package", EASY)
def test_easy_japanese_has_no_honorific_chains(package):
    # "ありがとうございました" is the one set phrase the guideline keeps.
    found = {m: t for m, t in entries(package, "ja-easy").items()
             if any(chain in t.replace("ありがとうございました", "") for chain in HONORIFIC_CHAINS)}
    assert found == {}


def test_the_rules_catch_what_they_are_for():
    assert not all(ch in COMMON_KANJI for ch in "登録" if is_kanji(ch))
    assert all(ch in COMMON_KANJI for ch in "日本語の名前を書いて" if is_kanji(ch))
    assert [len(s) for s in sentences("はい。%(name)sさん、こんにちは！\nまた")] == [3, 9, 2]
    assert any(chain in "ご確認させていただきます" for chain in HONORIFIC_CHAINS)
    assert is_label("Check out") and not is_label("Nothing was changed.")


# Forms: the shipped forms give every resident language; a form that lacks one still works
# (Japanese is shown) and `cityhall forms check` warns about it (tests/test_languages.py).
def shipped_forms():
    from bot.flows.registry import forms

    return [f for f in forms().all() if Path(f.source).resolve().is_relative_to(ROOT / "residents")]


def test_shipped_forms_are_translated_into_every_resident_language():
    from bot.flows.schema import missing_translations

    missing = {f.id: missing_translations(f, LANGUAGES) for f in shipped_forms()}
    assert {form: gaps for form, gaps in missing.items() if gaps} == {}


def test_shipped_form_labels_fit_and_easy_japanese_kanji_are_common():
    from bot.flows.schema import texts

    long_labels, rare = [], []
    for form in shipped_forms():
        for where, text in texts(form):
            if where == "title" or where.endswith((".label", "]")) or ".options[" in where:
                long_labels += [(form.id, where, c) for c, t in text.items() if len(t) > LABEL_LIMIT]
            rare += [(form.id, where, ch) for ch in text.get("ja-easy", "")
                     if is_kanji(ch) and ch not in COMMON_KANJI]
    assert long_labels == [] and rare == []
