"""Disaster mode's rich menu through the emulator: the admin's switch, the clock job that
shows every resident the variant of their language (default menu and bulk links), a newcomer
linked to it, the wide area starting a damage report, and switching off restoring the menus."""

from __future__ import annotations

import pytest

from bot import richmenu
from cityhall.db import db
from cityhall.jobs import run_job
from models import utcnow
from models.report import ReportDraft
from tests.chat import Resident
from tests.staff_support import StaffClient, staff_app  # noqa: F401


def installed(app) -> dict[tuple[str, str | None], str]:
    """Install every menu; return (language, variant) -> menu id."""
    from bot.gateway import gateway
    from cityhall.languages import resident_languages

    with app.app_context():
        richmenu.install(gateway())
        return {(code, v): gateway().rich_menu_of_alias(richmenu.alias_of(code, v))
                for code in resident_languages() for v in (None, "disaster")}


def sync(app):
    with app.app_context():
        return run_job("reports-rich-menu", utcnow())


def shown(line, person: Resident) -> str:
    return line.shown_rich_menu(person.user_id)["richMenuId"]


@pytest.mark.http
def test_disaster_mode_gives_every_resident_the_damage_menu_of_their_language(staff_app,
                                                                            live_app, line):
    menus = installed(staff_app)
    hanako, ana = Resident(line), Resident(line, name="Ana", language="pt-BR")
    hanako.follow()
    ana.follow()
    assert (shown(line, hanako), shown(line, ana)) == (menus["ja", None], menus["pt-BR", None])
    assert sync(staff_app) is None  # normal mode, normal menus: nothing to do

    admin = StaffClient(staff_app)
    assert admin.login("admin").status_code == 302
    assert admin.post("/staff/reports/disaster", {"on": "y"}).status_code == 302
    assert shown(line, ana) == menus["pt-BR", None]  # the request itself links nobody
    assert sync(staff_app) == 2
    assert (shown(line, hanako), shown(line, ana)) == (menus["ja", "disaster"],
                                                      menus["pt-BR", "disaster"])
    first = line.shown_rich_menu(ana.user_id)["areas"][0]
    assert first["bounds"]["y"] == 0 and first["bounds"]["width"] == richmenu.WIDTH
    assert first["action"]["data"] == "bt.menu:disaster"
    assert line.shown_rich_menu(hanako.user_id)["areas"][0]["action"]["displayText"] == \
        "災害被害を通報"
    assert sync(staff_app) is None  # once per switch
    assert len(line.requests("/v2/bot/richmenu/bulk/link")) == 2  # one per language

    newcomer = Resident(line, name="Alex", language="en")
    newcomer.follow()  # linked to their language's menu: the disaster one, now
    assert shown(line, newcomer) == menus["en", "disaster"]
    stranger = Resident(line, name="無名")
    assert line.shown_rich_menu(stranger.user_id)["richMenuId"] == menus["ja", "disaster"]

    ana.menu("disaster")  # the wide area starts a damage report at its first question
    assert ana.texts()
    with staff_app.app_context(), db.session() as session:
        drafts = list(session.query(ReportDraft))
        assert [(d.data.get("category"), d.step) for d in drafts] == [("disaster", "injured")]

    assert admin.post("/staff/reports/disaster", {}).status_code == 302
    assert sync(staff_app) == 3
    assert (shown(line, hanako), shown(line, ana), shown(line, newcomer)) == (
        menus["ja", None], menus["pt-BR", None], menus["en", None])
    assert line.shown_rich_menu(stranger.user_id)["richMenuId"] == menus["ja", None]


def test_the_job_waits_while_the_disaster_menus_are_not_installed(staff_app, line):
    admin = StaffClient(staff_app)
    assert admin.login("admin").status_code == 302
    assert admin.post("/staff/reports/disaster", {"on": "y"}).status_code == 302
    assert sync(staff_app) is None  # `cityhall richmenu` not run: nothing shown, retried
    menus = installed(staff_app)
    assert sync(staff_app) == 0  # no resident yet; the default is the disaster menu
    stranger = Resident(line)
    assert line.shown_rich_menu(stranger.user_id)["richMenuId"] == menus["ja", "disaster"]
