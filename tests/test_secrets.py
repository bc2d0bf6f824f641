"""Secrets fail closed: no process starts without real keys, QR tokens have their own key, an
empty channel secret accepts nothing, and forwarded addresses are trusted only when configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from checkin import qr, tokens
from cityhall import create_app
from cityhall import config as settings
from cityhall.config import Config, ConfigError
from cityhall.demo import DEMO_SECRETS_FILE, demo_environment
from models import ProcessedEvent, Resident, utcnow
from tests.builders import new_user_id, post_webhook, sign, text_event
from tests.chat import Resident as ChatResident
from tests.checkin_support import family, open_all_day, scan_text, visits
from tests.conftest import ROOT, process_env
from tests.flows_helpers import seed_city
from tests.staff_support import StaffClient, audit_entries, seed_staff

REQUIRED = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY", "CHECKIN_TOKEN_KEY")
OLD_PUBLIC_SECRET_KEY = "dev-only-secret-change-me"
STRONG = "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz"


def env_without(*names: str, **values: str) -> dict[str, str]:
    env = process_env(**values)
    for name in names:
        env.pop(name, None)
    return env


# Each process refuses to start and says what is missing


def test_the_web_factory_refuses_to_start_and_names_every_missing_secret(monkeypatch):
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert refused.value.problems == [f"{name} is not set" for name in REQUIRED]


@pytest.mark.parametrize("values, problem", [
    ({"SECRET_KEY": OLD_PUBLIC_SECRET_KEY}, "SECRET_KEY is a published development value"),
    ({"SECRET_KEY": "short-but-not-empty"}, "SECRET_KEY is too weak"),
    ({"SECRET_KEY": "a" * 64}, "SECRET_KEY is too weak"),
    ({"CHECKIN_TOKEN_KEY": "x1y2z3"}, "CHECKIN_TOKEN_KEY is too weak"),
    ({"CHECKIN_TOKEN_KEY": STRONG, "SECRET_KEY": STRONG}, "CHECKIN_TOKEN_KEY must differ"),
    ({"LINE_CHANNEL_ACCESS_TOKEN": "  "}, "LINE_CHANNEL_ACCESS_TOKEN is not set"),
    ({"CITYHALL_PROXY_HOPS": "two"}, "CITYHALL_PROXY_HOPS must be a whole number"),
])
def test_public_weak_or_shared_keys_are_refused_by_name(monkeypatch, values, problem):
    for name, value in {**process_env(), **values}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=problem) as refused:
        create_app()
    assert len(refused.value.problems) == 1


def test_the_procfile_web_command_exits_naming_what_is_missing(tmp_path):
    env = env_without("SECRET_KEY", "CHECKIN_TOKEN_KEY", DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
                           "127.0.0.1:0", "cityhall:create_app()"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY is not set; CHECKIN_TOKEN_KEY is not set" in done.stderr
    assert "LINE_CHANNEL_SECRET is not set" not in done.stderr


@pytest.mark.parametrize("command", [["worker"], ["worker", "--once"], ["clock"]])
@pytest.mark.parametrize("missing", [REQUIRED, ("LINE_CHANNEL_ACCESS_TOKEN",)])
def test_worker_and_clock_exit_naming_what_is_missing(tmp_path, command, missing):
    env = env_without(*missing, DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    done = subprocess.run([sys.executable, "-m", "cityhall", *command], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    named = [name for name in REQUIRED if f"{name} is not set" in done.stderr]
    assert named == list(missing)
    assert "Traceback" not in done.stderr


def test_testing_config_runs_without_production_secrets(monkeypatch, tmp_path):
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    app = create_app(settings.TestingConfig(DATABASE_URL=f"sqlite:///{tmp_path}/x.db"))
    assert app.config["CHECKIN_TOKEN_KEY"] and app.config["CHECKIN_TOKEN_KEY"] != app.config[
        "SECRET_KEY"]


def test_the_demo_makes_its_own_secrets_once_and_keeps_them_private(monkeypatch, tmp_path):
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    env = demo_environment(5000, 8001, tmp_path)
    path = tmp_path / DEMO_SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {name: env[name] for name in REQUIRED}
    assert demo_environment(5000, 8001, tmp_path)["SECRET_KEY"] == env["SECRET_KEY"]
    other = demo_environment(5000, 8001, tmp_path / "elsewhere")
    assert other["CHECKIN_TOKEN_KEY"] != env["CHECKIN_TOKEN_KEY"]
    for name in REQUIRED:
        monkeypatch.setenv(name, env[name])
    assert Config().problems() == []


def test_a_demo_started_with_a_set_secret_keeps_it(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", STRONG)
    assert demo_environment(5000, 8001, tmp_path)["SECRET_KEY"] == STRONG


# QR tokens have their own key


def test_a_poster_forged_with_the_old_public_derived_key_checks_nobody_in(live_app, app, line):
    seed_city(app)
    open_all_day(app)
    # The old default: SECRET_KEY public, and the token key derived from it.
    app.config["SECRET_KEY"] = OLD_PUBLIC_SECRET_KEY
    derived = hmac.new(OLD_PUBLIC_SECRET_KEY.encode(), b"checkin-token", hashlib.sha256).digest()
    with app.app_context():
        genuine = tokens.verify(scan_text(app).split(" ", 1)[1], utcnow())
        forged = qr.scan_text(tokens.poster_token("central", genuine.number, key=derived))
    person = ChatResident(line)
    household = family(app, [person.user_id])
    person.say(forged)
    assert "このQRコードはチェックイン用の正しいコードではありません" in person.last()
    assert visits(app, household) == []
    person.say(scan_text(app))
    assert person.last().startswith("中央子育て支援センターにチェックインしました")


def test_tokens_are_signed_with_checkin_token_key_alone(app):
    now = utcnow()
    with app.app_context():
        token = tokens.poster_token("central", 1)
        app.config["SECRET_KEY"] = "something-else-entirely-" + "9" * 20
        assert tokens.verify(token, now).center_code == "central"
        app.config["CHECKIN_TOKEN_KEY"] = "a-rotated-key-" + "abcdefghij" * 3
        with pytest.raises(tokens.TokenError, match="invalid"):
            tokens.verify(token, now)
        app.config["CHECKIN_TOKEN_KEY"] = ""
        with pytest.raises(tokens.MissingKeyError):
            tokens.poster_token("central", 1)


# An empty channel secret accepts nothing


def test_an_empty_channel_secret_refuses_even_bodies_signed_with_the_empty_key(
        live_app, app, line, db_session):
    app.config["LINE_CHANNEL_SECRET"] = ""
    user = new_user_id()
    body = json.dumps({"events": [text_event(user, "hello")]}).encode()
    response = post_webhook(live_app.url, body, signature=sign(body, secret=""))
    assert response.status_code == 400
    with db_session.begin():
        assert db_session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
        assert db_session.scalar(select(func.count()).select_from(Resident)) == 0
    assert line.received(user) == []


# Forwarded addresses: trusted only through CITYHALL_PROXY_HOPS


def proxied_app(database_url: str, hops: str):
    return create_app(settings.TestingConfig(DATABASE_URL=database_url, CITYHALL_PROXY_HOPS=hops))


@pytest.mark.parametrize("hops, forwarded, recorded", [
    ("0", "203.0.113.7", "127.0.0.1"),                 # no proxy: the header is anyone's
    ("1", "203.0.113.7", "203.0.113.7"),               # one proxy: the address it saw
    ("1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # a spoofed first hop is ignored
    ("2", "198.51.100.1, 203.0.113.7", "198.51.100.1"),
])
def test_the_audit_log_records_the_client_address_the_trusted_proxies_saw(
        database_url, hops, forwarded, recorded):
    app = proxied_app(database_url, hops)
    try:
        seed_staff(app)
        client = StaffClient(app)
        assert client.login("admin").status_code == 302
        client.get("/staff/admin/audit", headers={"X-Forwarded-For": forwarded},
                   environ_base={"REMOTE_ADDR": "127.0.0.1"})
        [entry] = audit_entries(app, "audit.view")
        assert entry.remote_addr == recorded
    finally:
        app.extensions["cityhall.db"][0].dispose()


@pytest.mark.parametrize("hops", ["-1", "6", "one", ""])
def test_a_bad_proxy_hop_count_is_refused_even_in_tests(hops):
    with pytest.raises(ConfigError, match="CITYHALL_PROXY_HOPS"):
        create_app(settings.TestingConfig(DATABASE_URL="sqlite:///unused.db",
                                          CITYHALL_PROXY_HOPS=hops))


def test_secrets_never_appear_in_the_refusal(monkeypatch):
    for name, value in process_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SECRET_KEY", "short-secret-value")
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert "short-secret-value" not in str(refused.value)
    assert os.environ["LINE_CHANNEL_SECRET"] not in str(refused.value)


def test_cityhall_demo_starts_without_secrets_to_make_its_own(monkeypatch):
    from click.testing import CliRunner

    import cityhall.demo
    from cityhall.cli import main

    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    started = []
    monkeypatch.setattr(cityhall.demo, "run_demo", lambda *ports: started.append(ports) or 0)
    result = CliRunner().invoke(main, ["demo", "--port", "5999"])
    assert result.exit_code == 0, result.output
    assert started == [(5999, 8001)]
