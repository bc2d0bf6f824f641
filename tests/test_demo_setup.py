"""`cityhall demo`'s set-up: centers open around the clock, the rich menu and the scan menu."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from checkin import services
from cityhall.city import current_city
from cityhall.db import db
from cityhall.demo import set_up_emulator
from models import Center, utcnow
from models.household import Guardian
from tests.checkin_support import family
from tests.conftest import process_env


def test_the_demo_installs_the_menu_and_every_poster_and_checks_in_on_a_sunday_night(
        app, line, database_url, emulator_server):
    env = process_env(DATABASE_URL=database_url, LINE_API_BASE_URL=emulator_server.url,
                      LINE_DATA_API_BASE_URL=emulator_server.url)
    seeded = subprocess.run([sys.executable, "-m", "cityhall", "seed", "--demo"], env=env,
                            capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr

    set_up_emulator(env, emulator_server.url)

    user = line.create_user()["userId"]
    shown = line.shown_rich_menu(user)
    assert shown is not None and shown["name"].startswith("cityhall-main-")
    household = family(app, [user])
    with app.app_context(), db.transaction() as session:
        centers = session.scalars(select(Center).order_by(Center.code)).all()
        targets = line.scan_targets()
        kind = {"poster": "ポスター", "kiosk": "キオスク画面"}
        assert [t["label"] for t in targets] == [
            f"{c.name_ja}（{kind[c.checkin_mode.value]}）" for c in centers]
        assert [t["id"] for t in targets] == ["central-poster", "east-poster", "west-kiosk"]
        assert all(t["text"].startswith("https://line.me/R/oaMessage/") for t in targets)
        city = current_city()
        today = city.today(utcnow())
        sunday = today + timedelta(days=(6 - today.weekday()) % 7)
        night = city.at(sunday, "23:00")
        guardian = session.scalars(select(Guardian).where(Guardian.household_id == household)).one()
        assert services.choose_or_check_in(session, centers[0], guardian, night,
                                           city=city).kind == "in"
