"""What features plug into the engine: profile for prefill, option lists, submit handlers.

The engine knows no feature. A feature declares a `FormHooks` in its declaration
(`Feature.form_hooks`); the loaded features' hooks are merged once, and a name given twice
(an option source, a submit handler, a calendar, a provider) is a start-up error naming both features.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.flows.engine import Turn
    from bot.flows.schema import Option
    from cityhall.features import FeatureSet
    from models import Resident

# The profile keys a field may prefill from; a profile provider returns a subset of them.
PREFILL_KEYS = {
    "guardian.name", "guardian.kana", "guardian.phone", "guardian.postal_code",
    "guardian.address", "guardian.district", "resident.language", "household.child",
}

ProfileProvider = Callable[["Session", "Resident"], dict[str, Any]]
ChildrenProvider = Callable[["Session", "Resident"], list[tuple[int, str]]]
RegisteredProvider = Callable[["Session", "Resident"], bool]
OptionSource = Callable[["Session"], list["Option"]]
SubmitHandler = Callable[["Turn", dict[str, Any]], list[dict[str, Any]]]
PROVIDERS = ("profile", "children", "registered")
# Whether the place an option of a source names is open on a day (a date field's `open_at`
# reads the calendar of the earlier choice it names).
Calendar = Callable[["Session", str, date], bool]


@dataclass(frozen=True)
class FormHooks:
    """One feature's hooks: named option lists, named submit handlers, profile providers."""

    option_sources: Mapping[str, OptionSource] = field(default_factory=dict)
    submit_handlers: Mapping[str, SubmitHandler] = field(default_factory=dict)
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    profile: ProfileProvider | None = None
    children: ChildrenProvider | None = None
    registered: RegisteredProvider | None = None


@dataclass
class MergedHooks:
    option_sources: dict[str, OptionSource] = field(default_factory=dict)
    submit_handlers: dict[str, SubmitHandler] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    providers: dict[str, Callable[..., Any]] = field(default_factory=dict)


def merged(features: FeatureSet) -> MergedHooks:
    """Merge the hooks of the loaded features once; refuse a name two features give."""
    if "form_hooks" in features.cache:
        return features.cache["form_hooks"]
    from bot.router import DuplicateRegistration

    result = MergedHooks()
    owner: dict[tuple[str, str], str] = {}

    def claim(kind: str, key: str, where: str) -> None:
        if (kind, key) in owner:
            raise DuplicateRegistration(kind, key, owner[kind, key], where)
        owner[kind, key] = where

    for feature in features.features:
        hooks = feature.form_hooks
        if hooks is None:
            continue
        where = f"feature {feature.name!r}"
        for kind, table, found in (("option source", result.option_sources, hooks.option_sources),
                                   ("submit handler", result.submit_handlers,
                                    hooks.submit_handlers),
                                   ("calendar", result.calendars, hooks.calendars)):
            for name, fn in found.items():
                claim(kind, name, where)
                table[name] = fn
        for kind in PROVIDERS:
            fn = getattr(hooks, kind)
            if fn is not None:
                claim("form provider", kind, where)
                result.providers[kind] = fn
    features.cache["form_hooks"] = result
    return result


def current() -> MergedHooks:
    """Return the hooks of the current app's features (or the configured list's)."""
    from cityhall.features import current as current_features

    return merged(current_features())


def __getattr__(name: str) -> Any:
    # The schema checks `options_from` and `on_submit` against the loaded names.
    if name == "OPTION_SOURCES":
        return current().option_sources
    if name == "SUBMIT_HANDLERS":
        return current().submit_handlers
    if name == "CALENDARS":
        return current().calendars
    raise AttributeError(name)


def option_source(name: str) -> OptionSource:
    """Return the named option list a choice field uses with `options_from`."""
    return current().option_sources[name]


def submit_handler(name: str) -> SubmitHandler:
    """Return what a form's `on_submit` names."""
    return current().submit_handlers[name]


def profile(session: Session, resident: Resident) -> dict[str, Any]:
    """Return what the city already knows about the resident, by prefill key."""
    fn = current().providers.get("profile")
    return fn(session, resident) if fn else {}


def children(session: Session, resident: Resident) -> list[tuple[int, str]]:
    """Return the (id, name) of the children in the resident's household."""
    fn = current().providers.get("children")
    return fn(session, resident) if fn else []


def is_registered(session: Session, resident: Resident) -> bool:
    """Tell whether the resident has registered."""
    fn = current().providers.get("registered")
    return bool(fn(session, resident)) if fn else False
