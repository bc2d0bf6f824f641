"""What every staff template can use: navigation, language, names in the staff's language."""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user

from cityhall.languages import STAFF_LANGUAGES
from staff.forms import ActionForm
from staff.nav import nav_for

WEEKDAY_LABELS = {
    "mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"), "thu": _l("Thursday"),
    "fri": _l("Friday"), "sat": _l("Saturday"), "sun": _l("Sunday"),
}
ROLE_LABELS = {"admin": _l("Administrator"), "center": _l("Center staff"),
               "department": _l("Department staff")}


def current_language() -> str:
    """Return the language staff pages are shown in."""
    locale = get_locale()
    return locale.language if locale else "ja"


def localized(row: object) -> str:
    """Return a center's, department's or district's name in the page's language."""
    return row.name(current_language()) if row is not None else ""


def _staff_globals() -> dict[str, object]:
    # Functions, not values: nothing is queried unless a template asks.
    return {
        "staff_nav": lambda: nav_for(current_user if current_user.is_authenticated else None),
        "staff_language": current_language,
        "staff_languages": STAFF_LANGUAGES,
        "action_form": ActionForm,
        "localized": localized,
        "weekday_label": lambda key: WEEKDAY_LABELS.get(key, key),
        "role_label": lambda role: ROLE_LABELS.get(str(role), str(role)),
        "current_path": lambda: request.path,
    }


def init_templating(bp: Blueprint) -> None:
    """Make the helpers available to every template, so later features' pages share them."""
    bp.app_context_processor(_staff_globals)
