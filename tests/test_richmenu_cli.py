"""The rich menu (image, areas, idempotent install, every tap answered) and `cityhall forms`."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from PIL import Image

from bot import richmenu
from bot.cli import forms_group, richmenu_command
from bot.richmenu import MENU_AREAS, MenuTap
from cityhall import config as settings
from cityhall import create_app
from cityhall.features import DEFAULT_FEATURES, load
from tests.chat import Resident
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, LiveServer

MENU = load().routes.menu  # the areas the loaded features answer


def test_menu_has_six_areas_in_a_grid_each_a_postback():
    menu = richmenu.menu_json("cityhall-main-x")
    assert [a["action"]["data"] for a in menu["areas"]] == [
        MenuTap(key).pack() for key, _, _ in MENU_AREAS]
    assert [a["action"]["displayText"] for a in menu["areas"]][:3] == ["登録", "チェックイン", "申し込み"]
    covered = sum(a["bounds"]["width"] * a["bounds"]["height"] for a in menu["areas"])
    assert covered == richmenu.WIDTH * richmenu.HEIGHT


@pytest.mark.parametrize("font", ["auto", None, "/nonexistent/font.ttf"])
def test_image_renders_with_or_without_a_japanese_font(font):
    path = richmenu.find_cjk_font() if font == "auto" else font
    png = richmenu.render_image(path)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (2500, 1686)
    assert len(png) < 1_000_000


def test_richmenu_command_installs_once_and_replaces_an_old_menu(app, line):
    runner = app.test_cli_runner()
    first = runner.invoke(richmenu_command)
    assert first.exit_code == 0, first.output
    assert "created and set as default" in first.output
    with app.app_context():
        from bot.gateway import gateway
        from cityhall.languages import resident_languages
        spoken = list(resident_languages())
        menus = gateway().list_rich_menus()
        # One menu per resident language and per language and variant (the disaster menu),
        # each reachable by its alias; Japanese is the default.
        variants = [None, *(v.name for v in richmenu.variants())]
        assert variants == [None, "disaster"]
        assert len(menus) == len(spoken) * len(variants) == 20
        assert all(m["name"].startswith("cityhall-main-") for m in menus)
        every = {(code, v): gateway().rich_menu_of_alias(richmenu.alias_of(code, v))
                 for code in spoken for v in variants}
        assert set(every.values()) == {m["richMenuId"] for m in menus}
        aliases = {code: every[code, None] for code in spoken}
        newcomer = line.create_user(display_name="x")["userId"]
        assert line.shown_rich_menu(newcomer)["richMenuId"] == aliases["ja"]
        again = runner.invoke(richmenu_command)
        assert "already set as default" in again.output
        assert {m["richMenuId"] for m in gateway().list_rich_menus()} == set(every.values())
        old = gateway().create_rich_menu(richmenu.menu_json("cityhall-main-old"))
        runner.invoke(richmenu_command)
        assert old not in [m["richMenuId"] for m in gateway().list_rich_menus()]
    uploads = line.requests("/v2/bot/richmenu/")
    assert sum(r["path"].endswith("/content") for r in uploads) == len(spoken) * 2


def test_a_variant_puts_its_wide_area_on_top_of_the_six():
    variant = richmenu.MenuVariant("flood", "flood", "浸水を通報", "Report flooding", "#B71C1C",
                                   lambda session: True)
    menu = richmenu.menu_json("cityhall-main-x", "en", variant)
    first, *six = menu["areas"]
    assert first["action"]["data"] == MenuTap("flood").pack()
    assert first["bounds"] == {"x": 0, "y": 0, "width": richmenu.WIDTH,
                               "height": richmenu.HEIGHT // 2}
    assert [a["action"]["data"] for a in six] == [MenuTap(k).pack() for k, _, _ in MENU_AREAS]
    assert all(a["bounds"]["y"] >= richmenu.HEIGHT // 2 for a in six)
    covered = sum(a["bounds"]["width"] * a["bounds"]["height"] for a in menu["areas"])
    assert covered == richmenu.WIDTH * richmenu.HEIGHT
    image = Image.open(io.BytesIO(richmenu.render_image(None, "ja", variant)))
    assert image.size == (richmenu.WIDTH, richmenu.HEIGHT)
    assert image.getpixel((richmenu.WIDTH // 2, 20)) == (0xB7, 0x1C, 0x1C)  # the wide area


def test_menu_without_an_uploaded_image_is_replaced(app, line):
    with app.app_context():
        from bot.gateway import gateway
        installed = richmenu.install(gateway())[0]
        name = next(m["name"] for m in gateway().list_rich_menus())
        gateway().delete_rich_menu(installed)
        # A run that died between creating the menu and uploading its image left this one.
        broken = gateway().create_rich_menu(richmenu.menu_json(name))
        menu_id, created = richmenu.install(gateway())
        assert created and menu_id != broken
        listed = [m["richMenuId"] for m in gateway().list_rich_menus()]
        assert menu_id in listed and broken not in listed


EXPECTED_TAPS = {
    "register": "保護者（あなた）のお名前を送ってください。",
    "apply": "どの申し込みをしますか？",
    "mydata": "まだ登録されていません。",
    "report": "何を通報しますか？種類を選んでください。",
}


@pytest.mark.parametrize("item, ja", [(key, ja) for key, ja, _ in MENU_AREAS])
def test_every_menu_area_answers(live_app, line, item, ja):
    person = Resident(line)
    person.menu(item)
    assert person.texts(), "a tap must never be met with silence"
    if item in EXPECTED_TAPS:
        assert person.last() == EXPECTED_TAPS[item]
    elif item not in MENU:  # a feature not built yet
        assert person.last() == f"「{ja}」は近日公開予定です。もうしばらくお待ちください。"


@pytest.fixture
def without_events(database_url, emulator_server, line):
    """The app with every default feature but events: its menu area has no answer yet."""
    config = settings.TestingConfig(
        DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
        LINE_DATA_API_BASE_URL=emulator_server.url, LINE_CHANNEL_SECRET=CHANNEL_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        CITYHALL_FEATURES=[name for name in DEFAULT_FEATURES if name != "events"])
    app = create_app(config)
    server = LiveServer(app).start()
    line.set_webhook(server.url + "/callback")
    yield app
    server.stop()
    app.extensions["cityhall.db"][0].dispose()


def test_an_area_no_loaded_feature_answers_is_coming_soon_in_english(without_events, line):
    person = Resident(line, name="Alex", language="en")
    person.follow()
    person.menu("events")
    assert person.last() == "\"Events\" is coming soon. Thank you for waiting!"


def test_forms_list_and_show():
    runner = CliRunner()
    listed = runner.invoke(forms_group, ["list"])
    assert listed.exit_code == 0
    assert {line.split("\t")[0] for line in listed.output.splitlines()} >= {
        "registration", "child", "childcare", "consultation", "survey"}
    shown = runner.invoke(forms_group, ["show", "childcare", "--json"])
    assert json.loads(shown.output)["receipt_prefix"] == "A"
    assert runner.invoke(forms_group, ["show", "nope"]).exit_code != 0


GOOD = """
id: lost_item
title: {ja: 落とし物, en: Lost item}
department: citizens
receipt_prefix: L
fields:
  - {id: what, type: text, label: {ja: 品物, en: Item}, prompt: {ja: 何を？, en: "What"}}
"""

BAD = [
    ("id: x\ntitle: {ja: a, en: b}\nfields: []\n", "fields: needs a non-empty list"),
    ("id: X!\n", "id: must be lower-case"),
    (GOOD.replace("type: text", "type: nope"), "fields[what]: unknown type 'nope'"),
    (GOOD.replace("en: Item}", "en: Item}, colour: red"), "fields[what]: unknown keys ['colour']"),
    (GOOD.replace('{ja: 何を？, en: "What"}', '何を？'), "fields[what].prompt: give the text per language"),
    (GOOD.replace("receipt_prefix: L", "receipt_prefix: lower"), "receipt_prefix: needs 1 to 3"),
    (GOOD.replace("type: text,", "type: text, when: {field: later, equals: 1},"),
     "fields[what].when: refers to 'later', which is not an earlier field"),
    (GOOD.replace("type: text,", "type: choice, options: [{value: a, ja: A, en: A}],"),
     "a choice needs at least two options"),
    (GOOD.replace("type: text,", "type: text, prefill: guardian.shoe_size,"),
     "unknown prefill 'guardian.shoe_size'"),
    (GOOD.replace("type: text,", "type: text, pattern: '[',"), "pattern does not compile"),
    (GOOD.replace("type: text,", "type: date, min_date: yesterday,"), "min_date must be"),
    (GOOD.replace("type: text,", "type: number, min: 5, max: 1,"), "min is greater than max"),
    ("id: [unclosed\n", "cannot read"),
]


def test_forms_check_accepts_a_good_file(tmp_path):
    path = tmp_path / "lost_item.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(forms_group, ["check", str(path)])
    assert result.exit_code == 0 and "ok: lost_item (1 fields)" in result.output


@pytest.mark.parametrize("text, message", BAD, ids=[m for _, m in BAD])
def test_forms_check_names_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(forms_group, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: " in result.output and message in result.output


def test_forms_check_refuses_a_taken_id(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(GOOD.replace("id: lost_item", "id: childcare"), encoding="utf-8")
    result = CliRunner().invoke(forms_group, ["check", str(path)])
    assert result.exit_code == 1 and "already defined" in result.output
