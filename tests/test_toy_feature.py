"""A feature defined only in this test plugs in: nothing outside its own code changes.

The toy has a router (a command in two languages, a postback action, a rich-menu area), a
staff page with its nav item, and a clock job. The app is built with the default features
plus the toy, served over real HTTP, and driven through the LINE emulator and a browser-like
HTTP session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests
from flask import Blueprint

from bot import messages
from bot.postback import PostbackData
from bot.router import Router
from cityhall import config as settings
from cityhall import create_app
from cityhall.cli import main
from cityhall.features import DEFAULT_FEATURES, Feature
from cityhall.jobs import job
from staff.access import require_role
from staff.nav import nav_item
from tests.chat import Resident
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, LiveServer
from tests.staff_support import PASSWORD, seed_staff, totp_code


@dataclass(frozen=True)
class Ring(PostbackData, prefix="ty.ring"):
    times: int


def make_toy(ran: list[datetime]) -> Feature:
    """Declare the toy feature: everything it adds, in one place."""
    router = Router("toy")

    @router.command("toy", "おもちゃ")
    def toy(ctx, _text):
        label = "Ring twice"
        ctx.reply(messages.text("The toy is here.",
                                quick_replies=[messages.postback_item(label, Ring(2), label)]))

    @router.action(Ring)
    def ring(ctx, data: Ring):
        ctx.reply(messages.text(" ".join(["ring"] * data.times)))

    @router.menu("toybox")  # an area of its own: the events feature answers "events"
    def events(ctx):
        ctx.reply(messages.text("Toy events: none today."))

    bp = Blueprint("toy_staff", __name__, url_prefix="/staff/toy")

    @bp.get("/")
    @require_role("admin")
    def page():
        return "<p>The toy's staff page</p>"

    @job("toy-count", "interval", "Count the toy's runs", minutes=10)
    def count(session, now):
        ran.append(now)
        return len(ran)

    return Feature("toy", requires=("staff",), router=router, blueprints=lambda: [bp],
                   nav=[nav_item("toy_staff.page", "Toy page", {"admin"})], jobs=[count])


@pytest.fixture
def toy_app(database_url, emulator_server, line):
    ran: list[datetime] = []
    config = settings.TestingConfig(
        DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
        LINE_DATA_API_BASE_URL=emulator_server.url, LINE_CHANNEL_SECRET=CHANNEL_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        CITYHALL_FEATURES=[*DEFAULT_FEATURES, make_toy(ran)])
    app = create_app(config)
    server = LiveServer(app).start()
    line.set_webhook(server.url + "/callback")
    yield app, server, ran
    server.stop()
    app.extensions["cityhall.db"][0].dispose()


def test_the_toy_answers_in_the_chat(toy_app, line):
    person = Resident(line)
    person.say("おもちゃ")
    assert person.last() == "The toy is here."
    person.tap("Ring twice")
    assert person.last() == "ring ring"
    person.menu("toybox")
    assert person.last() == "Toy events: none today."
    person.say("キャンセル")  # the bot's global commands still come first
    assert person.last() == "中止する手続きはありません。"
    person.postback("ty.ring:two")
    assert person.last() == "申し訳ありません。このボタンはもう使えません。"


def test_the_toy_has_a_staff_page_in_the_nav_and_a_job(toy_app):
    app, server, ran = toy_app
    seed_staff(app)
    browser = requests.Session()
    login = browser.get(server.url + "/staff/login", timeout=10).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', login).group(1)
    step = browser.post(server.url + "/staff/login", timeout=10, data={
        "username": "admin", "password": PASSWORD, "csrf_token": token})
    if step.url.endswith("/staff/login/code"):  # admins have a second factor
        browser.post(server.url + "/staff/login/code", timeout=10, data={
            "code": totp_code(app, "admin"), "csrf_token": token})
    home = browser.get(server.url + "/staff/", timeout=10).text
    assert "Toy page" in home and "/staff/toy/" in home
    assert browser.get(server.url + "/staff/toy/", timeout=10).text == \
        "<p>The toy's staff page</p>"

    runner = app.test_cli_runner()
    assert "toy-count" in runner.invoke(main, ["jobs", "list"]).output
    result = runner.invoke(main, ["jobs", "run", "toy-count", "--now", "2026-04-01T10:00"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "toy-count: 1" and len(ran) == 1


def test_without_the_toy_the_same_tap_is_refused_as_an_unknown_button(live_app, line):
    person = Resident(line)
    person.menu("toybox")
    assert person.last() == "申し訳ありません。このボタンはもう使えません。"
    person.say("おもちゃ")
    assert "メニュー" in person.last()
