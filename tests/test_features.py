"""The feature loader: one list, an order from `requires`, and no name registered twice."""

from __future__ import annotations

import re
from dataclasses import dataclass

import click
import pytest
from flask import Blueprint

from bot.postback import PostbackData
from bot.richmenu import MenuVariant
from bot.router import ChatRoutes, DuplicateRegistration, Router
from cityhall import create_app
from cityhall import config as settings
from cityhall.features import DEFAULT_FEATURES, Feature, FeatureError, load, order
from cityhall.jobs import job
from staff.nav import nav_item


@dataclass(frozen=True)
class Poke(PostbackData, prefix="dp.poke"):
    n: int


def reply(ctx, _text=""):
    """Stand-in handler."""


def tap(ctx, data):
    """Stand-in action."""


@job("dup-job", "interval", minutes=5)
def dup_job(session, now):
    return 0


def app_with(tmp_path, *extra: Feature):
    config = settings.TestingConfig(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
                           CITYHALL_FEATURES=[*DEFAULT_FEATURES, *extra])
    return create_app(config)


def test_default_features_load_in_order_with_the_core_first():
    features = load(list(DEFAULT_FEATURES))
    assert features.names == ["core", "staff", "residents", "checkin", "dashboards", "notices", "events", "reports"]
    assert {"auto-checkout", "aggregate-visits", "expire-forms"} <= set(features.jobs)
    assert {"register", "apply", "mydata", "checkin"} <= set(features.routes.menu)
    assert features.routes.commands["cancel"].origin.startswith("bot.chat.cancel")


def test_requires_orders_and_refuses_what_is_missing_or_circular():
    a, b = Feature("a", requires=("b",)), Feature("b")
    assert [f.name for f in order([a, b])] == ["b", "a"]
    with pytest.raises(FeatureError, match="'a' requires 'c'"):
        order([Feature("a", requires=("c",))])
    with pytest.raises(FeatureError, match="a -> b -> a"):
        order([Feature("a", requires=("b",)), Feature("b", requires=("a",))])
    with pytest.raises(FeatureError, match="cannot import"):
        load(["no_such_feature_package"])


@pytest.mark.parametrize("kind, build", [
    ("command", lambda r: r.command("Hello", "やあ")(reply)),
    ("text pattern", lambda r: r.pattern("greeting", re.compile("^hi$"))(reply)),
    ("postback action", lambda r: r.action(Poke)(tap)),
    ("rich-menu area", lambda r: r.menu("events")(reply)),
])
def test_same_chat_entry_in_two_routers_names_both(kind, build):
    first, second = Router("first"), Router("second")
    build(first)
    build(second)
    with pytest.raises(DuplicateRegistration) as err:
        ChatRoutes.build([first, second])
    message = str(err.value)
    assert message.startswith(f"{kind} ")
    assert "router 'first'" in message and "router 'second'" in message


def test_command_words_clash_whatever_the_case():
    first, second = Router("first"), Router("second")
    first.command("Hello")(reply)
    second.command("  hello ")(reply)
    with pytest.raises(DuplicateRegistration, match="command 'hello'"):
        ChatRoutes.build([first, second])


def test_a_feature_taking_a_global_command_stops_the_start_up(tmp_path):
    router = Router("rude")
    router.command("キャンセル")(reply)
    with pytest.raises(DuplicateRegistration) as err:
        app_with(tmp_path, Feature("rude", router=router))
    assert "bot.chat.cancel" in str(err.value) and "test_features.reply" in str(err.value)


FLOOD = MenuVariant("flood", "flood", "浸水", "Flood", "#B71C1C", lambda session: False)


@pytest.mark.parametrize("kind, one, two", [
    ("clock job", dict(jobs=[dup_job]), dict(jobs=[dup_job])),
    ("staff nav item", dict(nav=[nav_item("x.page", "X", {"admin"})]),
     dict(nav=[nav_item("x.page", "Y", {"admin"})])),
    ("CLI command", dict(cli=[click.Command("poke")]), dict(cli=[click.Command("poke")])),
    ("rich-menu variant", dict(menu_variants=[FLOOD]), dict(menu_variants=[FLOOD])),
])
def test_same_name_in_two_features_names_both(tmp_path, kind, one, two):
    with pytest.raises(DuplicateRegistration) as err:
        app_with(tmp_path, Feature("one", **one), Feature("two", **two))
    assert str(err.value) == f"{kind} {err.value.key!r} is registered twice: by feature " \
                             f"'one' and by feature 'two'"


def test_a_feature_cannot_shadow_a_core_job_chart_or_command(tmp_path):
    with pytest.raises(DuplicateRegistration, match="clock job 'expire-forms'.*'core'.*'late'"):
        app_with(tmp_path, Feature("late", jobs=[job("expire-forms", "interval", minutes=1)(
            lambda s, n: 0)]))
    with pytest.raises(DuplicateRegistration, match="CLI command 'jobs'"):
        app_with(tmp_path, Feature("late", cli=[click.Group("jobs")]))

    @dataclass(frozen=True)
    class Chart:
        slug: str

    with pytest.raises(DuplicateRegistration, match="dashboard chart 'usage'"):
        app_with(tmp_path, Feature("late", charts=[Chart("usage")]))


def test_same_blueprint_name_in_two_features_names_both(tmp_path):
    def blueprints():
        return [Blueprint("staff", __name__, url_prefix="/elsewhere")]

    with pytest.raises(DuplicateRegistration, match="blueprint 'staff'.*'staff'.*'copy'"):
        app_with(tmp_path, Feature("copy", blueprints=blueprints))


def test_same_form_hook_in_two_features_names_both(tmp_path):
    from bot.flows.hooks import FormHooks

    hooks = FormHooks(option_sources={"districts": lambda session: []})
    with pytest.raises(DuplicateRegistration,
                       match="option source 'districts'.*'residents'.*'copy'"):
        app_with(tmp_path, Feature("copy", form_hooks=hooks))


def test_worker_and_clock_build_the_same_features(tmp_path):
    from cityhall.clock import build_scheduler

    app = app_with(tmp_path)
    scheduled = {j.id for j in build_scheduler(app).get_jobs()}
    assert scheduled == set(app.extensions["cityhall.features"].jobs)
    assert {"create-staff", "qr", "aggregate"} <= set(app.cli.commands)
