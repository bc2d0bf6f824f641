"""Features plug in: each package declares itself once; one list says which are loaded.

A feature is a top-level package with a module `feature.py` holding `feature = Feature(...)`:
its blueprints, chat router, forms folder, clock jobs, dashboard charts, staff navigation,
translations, CLI commands, form-engine hooks, its demo data, what it needs loaded before it,
and a `setup` function for anything else (connecting to other features' signals). The web app, the worker
and the clock all build the same app, so all three load the same list:
`CITYHALL_FEATURES` (configuration; default `DEFAULT_FEATURES`).

`cityhall/` and `bot/` import no feature package: they reach features only through the
loaded `FeatureSet`. Anything registered twice (a job, a command word, a postback prefix, a
menu area, a nav item, a chart, a rich-menu variant, a CLI command, a blueprint, a form hook) stops the start-up
with an error naming both features.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context

from bot.router import ChatRoutes, DuplicateRegistration, Router

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask

    from cityhall.demodata import DemoContext
    from cityhall.jobs import Job

# The features a deployment runs when CITYHALL_FEATURES is not set, in load order.
DEFAULT_FEATURES = ("staff", "residents", "checkin", "dashboards", "notices", "events", "reports")
EXTENSION = "cityhall.features"


@dataclass(frozen=True)
class Feature:
    """One feature's declaration; every part is optional."""

    name: str
    requires: tuple[str, ...] = ()
    blueprints: Callable[[], Iterable[Blueprint]] = lambda: ()
    router: Router | None = None
    forms: Path | None = None
    jobs: Sequence[Job] = ()
    charts: Sequence[Any] = ()  # read by the dashboards feature (objects with a `slug`)
    menu_variants: Sequence[Any] = ()  # bot.richmenu.MenuVariant: variants of the rich menu
    nav: Sequence[Any] = ()  # read by the staff shell (objects with an `endpoint`)
    translations: Path | None = None
    residents_read: bool = True  # False: a staff-only catalogue, kept out of the chat's
    cli: Sequence[click.Command] = ()
    form_hooks: Any = None  # a bot.flows.hooks.FormHooks
    setup: Callable[[Flask], None] | None = None
    # Its synthetic demo data, run once per database by `cityhall demo-data` in load order.
    demo_data: Callable[[DemoContext], None] | None = None

    @classmethod
    def folder(cls, module_file: str, name: str) -> Path | None:
        """Return the package's sub-folder `name` (forms, translations) if it exists."""
        path = Path(module_file).resolve().parent / name
        return path if path.is_dir() else None


class FeatureError(RuntimeError):
    """A feature that cannot be loaded: unknown, missing a requirement, or in a cycle."""


FeatureRef = str | Feature


def _import(ref: FeatureRef) -> Feature:
    """Return the declaration a list entry names: "pkg", "module:attr", or a Feature."""
    if isinstance(ref, Feature):
        return ref
    module_name, _, attr = ref.partition(":")
    if not attr:
        module_name, attr = f"{ref}.feature", "feature"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise FeatureError(f"feature {ref!r}: cannot import {module_name} ({err})") from err
    found = getattr(module, attr, None)
    if not isinstance(found, Feature):
        raise FeatureError(f"feature {ref!r}: {module_name}.{attr} is not a Feature")
    return found


def order(features: Sequence[Feature]) -> list[Feature]:
    """Keep the declared order, but load each feature after what it requires."""
    by_name: dict[str, Feature] = {}
    for feature in features:
        if feature.name in by_name:
            raise DuplicateRegistration("feature", feature.name, "the feature list",
                                        "the feature list again")
        by_name[feature.name] = feature
    result: list[Feature] = []
    visiting: list[str] = []

    def visit(feature: Feature) -> None:
        if feature in result:
            return
        if feature.name in visiting:
            raise FeatureError("features require each other: " + " -> ".join(
                visiting[visiting.index(feature.name):] + [feature.name]))
        visiting.append(feature.name)
        for need in feature.requires:
            if need not in by_name:
                raise FeatureError(f"feature {feature.name!r} requires {need!r}, which is not "
                                   "in the feature list")
            visit(by_name[need])
        visiting.pop()
        result.append(feature)

    for feature in features:
        visit(feature)
    return result


def unique(kind: str, entries: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Check that each key appears once; entries are (key, where). Return key -> where."""
    seen: dict[str, str] = {}
    for key, where in entries:
        if key in seen:
            raise DuplicateRegistration(kind, key, seen[key], where)
        seen[key] = where
    return seen


@dataclass
class FeatureSet:
    """The loaded features, in order, with the core first; built once per list."""

    features: list[Feature]
    cache: dict[str, Any] = field(default_factory=dict)  # derived tables other layers build

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def collect(self, part: str) -> list[tuple[Feature, Any]]:
        """Return (feature, item) for every item of this part in every feature, in order."""
        return [(f, item) for f in self.features for item in getattr(f, part)]

    @cached_property
    def routes(self) -> ChatRoutes:
        """The root dispatcher's tables: each feature's router included in load order."""
        return ChatRoutes.build(f.router for f in self.features if f.router is not None)

    @cached_property
    def jobs(self) -> dict[str, Job]:
        """Every feature's clock jobs by name."""
        pairs = self.collect("jobs")
        unique("clock job", ((job.name, f"feature {f.name!r}") for f, job in pairs))
        return {job.name: job for _f, job in pairs}

    @cached_property
    def nav(self) -> list[Any]:
        """Every feature's staff navigation items."""
        pairs = self.collect("nav")
        unique("staff nav item", ((i.endpoint, f"feature {f.name!r}") for f, i in pairs))
        return [item for _f, item in pairs]

    @cached_property
    def charts(self) -> dict[str, Any]:
        """Every feature's dashboard charts by slug, in order."""
        pairs = self.collect("charts")
        unique("dashboard chart", ((c.slug, f"feature {f.name!r}") for f, c in pairs))
        return {chart.slug: chart for _f, chart in pairs}

    @cached_property
    def menu_variants(self) -> dict[str, Any]:
        """Every feature's rich-menu variants by name, in order."""
        pairs = self.collect("menu_variants")
        unique("rich-menu variant", ((v.name, f"feature {f.name!r}") for f, v in pairs))
        return {variant.name: variant for _f, variant in pairs}

    @cached_property
    def cli(self) -> list[click.Command]:
        """Every feature's CLI commands and groups."""
        pairs = self.collect("cli")
        unique("CLI command", ((c.name, f"feature {f.name!r}") for f, c in pairs))
        return [command for _f, command in pairs]

    def form_folders(self) -> list[Path]:
        """The forms folders, in load order."""
        return [f.forms for f in self.features if f.forms is not None]

    def translation_folders(self, residents: bool = False) -> list[Path]:
        """The catalogue folders (residents: only those the chat reads)."""
        return [f.translations for f in self.features if f.translations is not None
                and (f.residents_read or not residents)]

    def check(self) -> None:
        """Build every table now, so a duplicate stops the start-up, not the first request."""
        for part in ("routes", "jobs", "nav", "charts", "menu_variants", "cli"):
            getattr(self, part)
        from bot.flows.hooks import merged

        merged(self)


def core() -> Feature:
    """The part that is not a feature: global commands, the bot's and cityhall's jobs."""
    from cityhall.core import feature

    return feature


_loaded: dict[tuple[Any, ...], FeatureSet] = {}


def load(refs: Sequence[FeatureRef] | None = None) -> FeatureSet:
    """Resolve a feature list (default: the configured one) into a checked FeatureSet.

    The same list gives the same FeatureSet in one process, so the app, the CLI and a tool
    that runs without the app (`cityhall forms check`) share one form registry.
    """
    refs = tuple(configured() if refs is None else refs)
    key = tuple(r if isinstance(r, str) else id(r) for r in refs)
    if key not in _loaded:
        found = FeatureSet(order([core(), *(_import(r) for r in refs)]))
        found.check()
        _loaded[key] = found
    return _loaded[key]


def configured() -> list[FeatureRef]:
    """The feature list of the current app, else CITYHALL_FEATURES, else the default."""
    if has_app_context() and "CITYHALL_FEATURES" in current_app.config:
        return list(current_app.config["CITYHALL_FEATURES"])
    return parse_list(os.environ.get("CITYHALL_FEATURES"))


def parse_list(text: str | None) -> list[FeatureRef]:
    """Read "staff, residents, ..." (empty or unset: the default list)."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    return names or list(DEFAULT_FEATURES)


def current() -> FeatureSet:
    """The features of the current app; outside an app, the configured list."""
    if has_app_context() and EXTENSION in current_app.extensions:
        return current_app.extensions[EXTENSION]
    return load()


def init_app(app: Flask) -> FeatureSet:
    """Load the app's features: blueprints, CLI commands, then each feature's own setup."""
    features = load(app.config.get("CITYHALL_FEATURES"))
    app.extensions[EXTENSION] = features
    with app.app_context():  # so a feature's code sees this app's features
        _install(app, features)
    return features


def _install(app: Flask, features: FeatureSet) -> None:
    blueprints: dict[str, str] = {}
    for feature in features.features:
        for blueprint in feature.blueprints():
            unique("blueprint", [*blueprints.items(), (blueprint.name, f"feature {feature.name!r}")])
            blueprints[blueprint.name] = f"feature {feature.name!r}"
            app.register_blueprint(blueprint)
    from cityhall.cli import main  # the core commands (db, jobs, worker, ...)

    taken = unique("CLI command", ((name, "cityhall") for name in
                                   {*main.commands, "run", "shell", "routes"}))
    for command in features.cli:
        unique("CLI command", [*taken.items(), (command.name, "a feature")])
        app.cli.add_command(command)
    for feature in features.features:
        if feature.setup is not None:
            feature.setup(app)
