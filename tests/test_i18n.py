"""Every catalogue is complete in Japanese and its compiled .mo matches its .po."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from cityhall.i18n import translate, translation_dirs

CATALOGUES = [po for d in translation_dirs() for po in sorted(d.glob("*/LC_MESSAGES/messages.po"))]


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: str(p.relative_to(p.parents[4])))
def test_compiled_catalogue_matches_source(po_path: Path):
    with po_path.open("rb") as f:
        po = read_po(f)
    with po_path.with_suffix(".mo").open("rb") as f:
        mo = read_mo(f)
    assert {m.id: m.string for m in po if m.id and m.string} == \
        {m.id: m.string for m in mo if m.id and m.string}, "run `make i18n` and commit the .mo"


@pytest.mark.parametrize("po_path", [p for p in CATALOGUES if p.parts[-3] == "ja"],
                         ids=lambda p: str(p.relative_to(p.parents[4])))
def test_japanese_catalogue_is_complete(po_path: Path):
    with po_path.open("rb") as f:
        missing = [m.id for m in read_po(f) if m.id and not m.string]
    assert missing == []


def test_japanese_is_the_default_and_english_the_second_language():
    assert translate(None, "Welcome to Smartphone City Hall!") == "スマホ市役所へようこそ！"
    assert translate("en", "Welcome to Smartphone City Hall!") == "Welcome to Smartphone City Hall!"
    assert translate("ja", "Welcome back, %(name)s! Notices will reach you again.",
                     name="花子").startswith("花子さん")


def test_staff_and_resident_wordings_do_not_clash(app):
    from flask_babel import gettext

    # Residents read the bot's word; staff pages use the staff web's word for the same msgid.
    assert translate("ja", "Cancel") == "やめる"
    with app.test_request_context("/staff/login", headers={"Accept-Language": "en-US"}):
        assert gettext("Cancel") == "キャンセル"


def test_staff_pages_are_japanese_first_whatever_the_browser_says(app):
    from flask import session
    from flask_babel import get_locale

    with app.test_request_context("/staff/login", headers={"Accept-Language": "en-US,en"}):
        assert str(get_locale()) == "ja"
    with app.test_request_context("/staff/login"):
        session["lang"] = "en"
        assert str(get_locale()) == "en"
