"""What features plug into the engine: profile for prefill, option lists, submit handlers.

The engine knows no feature; a feature's module registers its functions here when imported.
`PLUGIN_MODULES` names those modules so the engine (and `cityhall forms check`) can load them
without the web app.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.flows.engine import Turn
    from bot.flows.schema import Option
    from models import Resident

# Modules that register hooks; a later feature appends its own.
PLUGIN_MODULES = ["residents.flows"]

# The profile keys a field may prefill from; a profile provider returns a subset of them.
PREFILL_KEYS = {
    "guardian.name", "guardian.kana", "guardian.phone", "guardian.postal_code",
    "guardian.address", "guardian.district", "resident.language", "household.child",
}

ProfileProvider = Callable[["Session", "Resident"], dict[str, Any]]
ChildrenProvider = Callable[["Session", "Resident"], list[tuple[int, str]]]
OptionSource = Callable[["Session"], list["Option"]]
SubmitHandler = Callable[["Turn", dict[str, Any]], list[dict[str, Any]]]
Calendar = Callable[["Session", str, date], bool]

OPTION_SOURCES: dict[str, OptionSource] = {}
# Per option source, whether the place an option names is open on a day (a date field's
# `open_at` reads the calendar of the earlier choice it names).
CALENDARS: dict[str, Calendar] = {}
SUBMIT_HANDLERS: dict[str, SubmitHandler] = {}
_providers: dict[str, Callable[..., Any]] = {}


def load_plugins() -> None:
    """Import every module that registers hooks (idempotent)."""
    for name in PLUGIN_MODULES:
        importlib.import_module(name)


def option_source(name: str) -> Callable[[OptionSource], OptionSource]:
    """Register a named list of options a choice field can use with `options_from`."""
    def register(fn: OptionSource) -> OptionSource:
        OPTION_SOURCES[name] = fn
        return fn
    return register


def calendar(name: str) -> Callable[[Calendar], Calendar]:
    """Register when the places of the option source `name` are open."""
    def register(fn: Calendar) -> Calendar:
        CALENDARS[name] = fn
        return fn
    return register


def submit_handler(name: str) -> Callable[[SubmitHandler], SubmitHandler]:
    """Register what a form's `on_submit` names: it stores the answers and returns replies."""
    def register(fn: SubmitHandler) -> SubmitHandler:
        SUBMIT_HANDLERS[name] = fn
        return fn
    return register


def provide(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the provider of "profile", "children" or "registered"."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _providers[kind] = fn
        return fn
    return register


def profile(session: Session, resident: Resident) -> dict[str, Any]:
    """Return what the city already knows about the resident, by prefill key."""
    fn = _providers.get("profile")
    return fn(session, resident) if fn else {}


def children(session: Session, resident: Resident) -> list[tuple[int, str]]:
    """Return the (id, name) of the children in the resident's household."""
    fn = _providers.get("children")
    return fn(session, resident) if fn else []


def is_registered(session: Session, resident: Resident) -> bool:
    """Tell whether the resident has registered."""
    fn = _providers.get("registered")
    return bool(fn(session, resident)) if fn else False
