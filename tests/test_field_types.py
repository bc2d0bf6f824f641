"""Field types are one registry: a new type is one class, a clash stops the app naming both."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.flows.fields import (FIELD_TYPES, AnswerView, FieldType, FieldTypeError, Invalid, Tap,
                              field_type, typed)
from bot.flows.registry import forms
from bot.flows.schema import FormError, form_from_data
from models.application import Submission
from residents import applications
from tests.chat import Resident
from tests.flows_helpers import conversation, query, submissions
from tests.test_form_fields import one_field_form, start


class Plate(FieldType):
    """A toy type: a car number plate like "品川 300 あ 12-34", with a region whitelist."""

    name = "plate"
    keys = frozenset({"regions"})

    def read(self, reader, data: dict, where: str) -> dict[str, Any]:
        regions = data.get("regions")
        if not isinstance(regions, list) or not regions:
            raise reader.fail(where, "regions must be a non-empty list")
        return {"regions": tuple(regions)}

    def parse(self, f, inp, turn) -> dict[str, str]:
        match = re.fullmatch(r"(\S+) (\d{3}) (\S) (\d{2}-\d{2})", typed(inp).strip())
        if not match or match.group(1) not in f.settings["regions"]:
            raise Invalid("That does not look right. Please try again.", custom=f.error)
        return {"region": match.group(1), "number": match.group(4)}

    def quick_replies(self, f, turn) -> list:
        return [Tap(f"{region} 300 あ 12-34", "answer", f"{region} 300 あ 12-34")
                for region in f.settings["regions"]]

    def display(self, f, value: Any, view) -> str:
        return f"{value['region']} {value['number']}"

    def detail(self, f, value: Any, view) -> str:
        return f"[{value['region']}] {value['number']}"


@pytest.fixture
def plate():
    field_type(Plate)
    yield Plate
    FIELD_TYPES.unregister("plate")


def test_a_second_type_with_a_taken_name_is_refused_naming_both():
    class Text(FieldType):
        name = "text"

    with pytest.raises(FieldTypeError) as clash:
        field_type(Text)
    message = str(clash.value)
    assert "'text'" in message
    assert "bot.flows.fields.Text" in message
    assert "test_field_types.test_a_second_type_with_a_taken_name_is_refused_naming_both" \
           ".<locals>.Text" in message
    assert type(FIELD_TYPES["text"]).__module__ == "bot.flows.fields"


def test_a_new_type_is_one_class_all_the_way_through_the_chat(live_app, line, app, plate):
    error = {"ja": "ナンバーを「岐阜 300 あ 12-34」のように送ってください。", "en": "A plate, please."}
    form = forms().add(form_from_data(one_field_form("tplate", type="plate", error=error,
                                                     regions=["品川", "岐阜"]), "test"))
    try:
        person = Resident(line)
        start(person, form.id)
        assert person.labels()[:2] == ["品川 300 あ 12-34", "岐阜 300 あ 12-34"]
        person.say("札幌 300 あ 12-34")
        assert person.texts()[-2] == "⚠️ " + error["ja"]
        person.tap("岐阜 300 あ 12-34")
        assert conversation(app, person.user_id)[0]["answers"] == {
            "x": {"region": "岐阜", "number": "12-34"}}
        assert "・項目: 岐阜 12-34" in person.last()
        person.tap("送信")
        assert submissions(app, form.id)[0]["answers"] == {"x": {"region": "岐阜",
                                                                 "number": "12-34"}}

        def staff_rows(session):
            submission = session.scalars(select(Submission)
                                         .where(Submission.form_id == form.id)).one()
            return applications.answer_rows(session, submission, "ja")

        assert [(r.label, r.value) for r in query(app, staff_rows)] == [("項目", "[岐阜] 12-34")]
    finally:
        forms().remove(form.id)


def test_a_type_checks_its_own_keys(plate):
    with pytest.raises(FormError, match=r"fields\[x\]: regions must be a non-empty list"):
        form_from_data(one_field_form("tbad", type="plate", regions=[]), "bad.yaml")


@pytest.mark.parametrize("spec, message", [
    ({"type": "nmber"}, r"unknown type 'nmber'; known: child, choice, date, email, group, "),
    ({"type": "text", "options": []}, r"unknown keys \['options'\] for type 'text'"),
    ({"type": "yesno", "max_length": 3}, r"unknown keys \['max_length'\] for type 'yesno'"),
    ({"type": "number", "min": 5, "max": 1}, r"min is greater than max"),
    ({"type": "date", "min_date": "soon"}, r"min_date must be today"),
    ({"type": "time", "max": "25:99"}, r"max must be a time like 09:00"),
    ({"type": "choice", "options": [{"value": "a", "ja": "A", "en": "A"}]},
     r"a choice needs at least two options"),
    ({"type": "yesno", "must_be": True}, r"must_be needs an error text"),
    ({"type": "text", "pattern": "("}, r"pattern does not compile"),
])
def test_form_mistakes_name_the_file_the_field_and_the_reason(spec, message):
    with pytest.raises(FormError, match=r"^bad\.yaml: fields\[x\]: " + message):
        form_from_data(one_field_form("tbad", **spec), "bad.yaml")


def test_an_anonymous_form_may_not_ask_a_personal_type():
    data = one_field_form("tanon", type="photo")
    data["anonymous"] = True
    with pytest.raises(FormError, match="an anonymous form cannot prefill, ask for a child"):
        form_from_data(data, "anon.yaml")


def test_every_type_shows_a_stored_value_to_staff(app):
    form = form_from_data({
        "id": "tall", "title": {"ja": "全部", "en": "All"}, "department": "childcare",
        "receipt_prefix": "T", "fields": [
            {"id": "c", "type": "choice", "options": [{"value": "a", "ja": "エー", "en": "A"},
                                                      {"value": "b", "ja": "ビー", "en": "B"}],
             "label": {"ja": "選択", "en": "Choice"}, "prompt": {"ja": "?", "en": "?"}},
            {"id": "y", "type": "yesno", "label": {"ja": "確認", "en": "OK"},
             "prompt": {"ja": "?", "en": "?"}},
            {"id": "l", "type": "location", "label": {"ja": "場所", "en": "Place"},
             "prompt": {"ja": "?", "en": "?"}},
            {"id": "p", "type": "photo", "label": {"ja": "写真", "en": "Photo"},
             "prompt": {"ja": "?", "en": "?"}}]}, "test")
    values = {"c": "b", "y": True, "l": {"latitude": 35.4, "longitude": 137.0, "address": None},
              "p": {"upload_id": 7, "content_type": "image/png"}}
    with app.app_context():
        view = AnswerView(None, "en")
        shown = {f.id: (FIELD_TYPES[f.type].detail(f, values[f.id], view),
                        FIELD_TYPES[f.type].upload_id(values[f.id])) for f in form.fields}
    assert shown == {"c": ("B", None), "y": ("Yes", None), "l": ("(35.4, 137.0)", None),
                     "p": ("image/png", 7)}
