"""A form routes to the center the resident chose: that center's staff see and handle the
submission, its department still does, other centers see nothing; a status change says
whether anyone is notified."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.flows.schema import FormError, form_from_data
from cityhall.city import City
from cityhall.db import db
from cityhall.languages import KNOWN, place_name_language
from models import OutboxMessage, utcnow
from models import Resident as ResidentRow
from residents import applications
from residents.applications import Scope
from tests.chat import Resident
from tests.flows_helpers import query, register, seed_city, submissions
from tests.test_applications import childcare, drain
from tests.test_applications_staff import (change, city, page, pushes, signed_in,  # noqa: F401
                                           text)
from tests.test_survey import empty_database  # noqa: F401

INBOX = "/staff/applications/"
TOKYO = City("Asia/Tokyo")
LABEL_LIMIT = 20  # LINE: a quick reply's or a button's label
CHOICE = {"id": "where", "type": "choice", "label": {"ja": "場所", "en": "Where"},
          "prompt": {"ja": "どこ？", "en": "Where?"}, "options_from": "centers"}


def routed_form(**extra) -> dict:
    return {"id": "routed", "title": {"ja": "試験", "en": "Test"}, "department": "childcare",
            "receipt_prefix": "T", "fields": [CHOICE], **extra}


def sent_to(line, app, center: str, name: str = "山田花子") -> dict:
    """Register a resident and send a childcare request to a center (its name in Japanese)."""
    person = Resident(line)
    register(person, children=1, name=name)
    childcare(person, child=None, center=center)
    return person, submissions(app, "childcare")[-1]


def outbox_count(app) -> int:
    return query(app, lambda s: s.scalar(select(func.count()).select_from(OutboxMessage)))


def test_center_staff_see_and_handle_only_what_was_routed_to_their_center(city, line, app):
    person, to_central = sent_to(line, app, "中央子育て支援センター")
    _other, to_east = sent_to(line, app, "東子育て支援センター", name="鈴木一郎")
    assert (to_central["center"], to_east["center"]) == ("central", "east")
    central = signed_in(app, "central")
    inbox = text(central.get(INBOX))
    assert to_central["receipt"] in inbox and to_east["receipt"] not in inbox
    listed = central.get("/staff/api/applications").get_json()
    assert [r["receipt_no"] for r in listed["rows"]] == [to_central["receipt"]]
    assert listed["total"] == 1 and [f["id"] for f in listed["forms"]] == ["childcare"]
    shown = text(page(central, to_central["id"]))
    assert "山田花子" in shown and "中央子育て支援センター" in shown
    assert page(central, to_east["id"]).status_code == 404
    assert central.get(f"/staff/api/applications/{to_east['id']}").status_code == 404
    assert change(central, to_east["id"], "done", at="received.0").status_code == 404
    assert change(central, to_central["id"], "approved", "お待ちしています。").status_code == 302
    drain(app)
    assert "承認" in pushes(line, person)[-1]
    east = signed_in(app, "higashi")
    assert [r["receipt_no"] for r in east.get("/staff/api/applications").get_json()["rows"]] == [
        to_east["receipt"]]
    department = signed_in(app, "kosodate").get("/staff/api/applications").get_json()
    assert {r["receipt_no"] for r in department["rows"]} == {to_central["receipt"],
                                                             to_east["receipt"]}
    assert signed_in(app, "roads").get("/staff/api/applications").get_json()["rows"] == []


def test_a_form_that_is_not_routed_reaches_its_department_only(city, line, app):
    person = Resident(line)
    register(person, children=1)
    plain = form_from_data(routed_form(), "test")  # no route_to_center

    def send(session):
        resident = session.scalars(select(ResidentRow)).one()
        found = applications.submit_application(session, plain, resident, None,
                                                {"where": "central"}, utcnow(), city=TOKYO)
        return found.id, found.center_code
    submission_id, center_code = query(app, send)
    assert center_code is None
    assert page(signed_in(app, "central"), submission_id).status_code == 404
    assert page(signed_in(app, "kosodate"), submission_id).status_code == 200
    assert signed_in(app, "central").get("/staff/applications/surveys").status_code == 403


def test_scope_is_departments_or_centers_and_nothing_by_default(city, line, app):
    _person, sent = sent_to(line, app, "西子育て支援センター")

    def seen(scope: Scope) -> tuple[int, bool]:
        def read(session):
            found = applications.list_submissions(session, scope)
            one = applications.get_submission(session, sent["id"], scope)
            return len(found), one is not None
        return query(app, read)

    assert seen(Scope()) == (0, False)
    assert seen(Scope(departments=None, centers=None)) == (1, True)
    assert seen(Scope(centers=frozenset({"west"}))) == (1, True)
    assert seen(Scope(centers=frozenset({"central", "east"}))) == (0, False)
    assert seen(Scope(departments=frozenset({"childcare"}))) == (1, True)
    assert seen(Scope(departments=frozenset({"roads"}), centers=frozenset({"west"}))) == (1, True)


def test_route_to_center_must_name_a_top_level_choice():
    assert form_from_data(routed_form(route_to_center="where"), "t").route_to_center == "where"
    with pytest.raises(FormError, match="route_to_center: must name a top-level field"):
        form_from_data(routed_form(route_to_center="nowhere"), "t")
    with pytest.raises(FormError, match="route_to_center: must name a top-level field"):
        form_from_data(routed_form(route_to_center="note", fields=[CHOICE, {
            "id": "note", "type": "text", "label": {"ja": "メモ", "en": "Note"},
            "prompt": {"ja": "メモ", "en": "Note"}}]), "t")
    with pytest.raises(FormError, match="only an application form can be routed"):
        form_from_data(routed_form(route_to_center="where", on_submit="child"), "t")


def test_linked_status_change_still_says_the_resident_is_told(city, line, app):
    _person, sent = sent_to(line, app, "中央子育て支援センター")
    client = signed_in(app, "kosodate")
    before = text(page(client, sent["id"]))
    assert "新しい状況と一緒にLINEで住民に送ります。" in before and "誰にも通知されません" not in before
    assert change(client, sent["id"], "in_review").status_code == 302
    assert "状況を「審査中」にしました。住民にLINEで通知されます。" in text(page(client, sent["id"]))


def test_status_change_after_the_registration_was_deleted_says_nobody_is_notified(city, line,
                                                                                  app):
    person, sent = sent_to(line, app, "中央子育て支援センター")
    person.menu("mydata")
    person.tap("削除する")
    person.tap("削除する")
    client = signed_in(app, "central")
    queued = outbox_count(app)
    assert change(client, sent["id"], "done").status_code == 302
    shown = text(page(client, sent["id"]))
    assert "住民が登録を削除したため、誰にも通知されません。" in shown
    assert "住民にLINEで通知されます" not in shown and outbox_count(app) == queued


# Centers on LINE's buttons: a label holds 20 characters


def center_buttons(app, language: str) -> list[str]:
    """The labels of a center choice and of a multiple choice with every center ticked, as a
    resident reading `language` gets them."""
    from types import SimpleNamespace

    from bot.flows.fields import Choice, MultiChoice
    from residents.flows import center_options

    field = form_from_data(routed_form(), "routed.yaml").fields[0]
    with app.app_context(), db.session() as session:
        options = center_options(session)
    turn = SimpleNamespace(lang=language, options=lambda _f: options, t=lambda message: message,
                           conv=SimpleNamespace(draft={"selected": [o.value for o in options]}))
    taps = Choice().quick_replies(field, turn) + MultiChoice().quick_replies(field, turn)
    return [tap.label for tap in taps if tap.op in ("answer", "toggle")]


@pytest.mark.parametrize("language", list(KNOWN))
def test_no_center_button_is_longer_than_a_line_label_in_any_language(app, language):
    seed_city(app)
    labels = center_buttons(app, language)
    assert len(labels) == 6 and all(len(label) <= LABEL_LIMIT for label in labels), labels
    if place_name_language(language) == "en":  # the seeded English names are 25-28 long
        assert labels[:3] == ["Central Center", "East Center", "West Center"]
    else:
        assert labels[:3] == ["中央子育て支援センター", "東子育て支援センター", "西子育て支援センター"]


def test_the_full_name_stays_in_answers_and_a_typed_short_name_is_understood(app):
    from bot.flows.fields import match_option
    from residents.flows import center_options

    seed_city(app)
    with app.app_context(), db.session() as session:
        options = center_options(session)
    assert options[0].label["vi"] == "Central Child Support Center"
    assert match_option(options, "central center") is options[0]


def test_a_center_without_a_short_name_shows_its_name_and_a_short_one_fits(app):
    from models.center import SHORT_NAME_MAX, Center

    short = Center(code="x", name_ja="北", name_en="North Child Support Center")
    assert short.label("en") == "North Child Support Center"  # LINE cuts it: staff add one
    short.short_name_en = "North Center"
    assert short.label("en") == short.label("pt-BR") == "North Center"
    assert short.label("ja") == short.label("zh-Hant") == "北"
    assert Center(code="y", name_ja="南", name_en="South", short_name_en="S").label("en") == "South"
    assert SHORT_NAME_MAX + len("✓ ") == LABEL_LIMIT


def test_staff_set_a_centers_short_name_and_a_long_one_is_refused(city, app):
    from models.center import Center
    from tests.test_staff_admin import hours_form

    admin = signed_in(app, "admin")
    page_html = text(admin.get("/staff/admin/centers/central"))
    assert 'value="Central Center"' in page_html and "LINE" in page_html
    data = hours_form(code="central", name_en="Central Child Support Center", district="ota",
                      short_name_en="Main Center")
    assert admin.post("/staff/admin/centers/central", data=data).status_code == 302
    stored = query(app, lambda s: s.scalars(select(Center.short_name_en)
                                            .where(Center.code == "central")).one())
    assert stored == "Main Center"
    refused = admin.post("/staff/admin/centers/central",
                         data={**data, "short_name_en": "Central Child Center"})
    assert refused.status_code == 200 and "18" in text(refused)


def test_the_migration_names_the_seeded_centers_short_and_leaves_renamed_ones(empty_database):
    import sqlalchemy as sa

    import migrations
    from cityhall.config import normalize_database_url

    url = empty_database
    migrations.upgrade(url, "0015_per_language_texts")
    engine = sa.create_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO centers (code, name_ja, name_en, opening_hours, closed_days, "
            "checkin_mode, active) VALUES (:code, :ja, :en, '{}', '[]', 'poster', true)"),
            [{"code": "central", "ja": "中央", "en": "Central Child Support Center"},
             {"code": "east", "ja": "東", "en": "East Family Plaza"}])  # renamed by staff
    migrations.upgrade(url)
    with engine.connect() as conn:
        short = dict(conn.execute(sa.text("SELECT code, short_name_en FROM centers")).all())
    assert short == {"central": "Central Center", "east": None}
    migrations.downgrade(url, "0015_per_language_texts")
    with engine.connect() as conn:
        assert "short_name_en" not in {c["name"] for c in sa.inspect(conn).get_columns("centers")}
    engine.dispose()
