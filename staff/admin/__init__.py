"""Admin pages: staff accounts, centers, departments, districts and the audit log."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from staff.nav import nav_item

bp = Blueprint("staff_admin", __name__, url_prefix="/staff/admin")

NAV = [
    nav_item("staff_admin.users", _l("Staff accounts"), roles={"admin"},
             description=_l("Add, disable and re-scope accounts; reset passwords."), order=80),
    nav_item("staff_admin.centers", _l("Manage centers"), roles={"admin"},
             description=_l("Centers, opening hours, closed days and check-in mode."), order=81),
    nav_item("staff_admin.departments", _l("Manage departments"), roles={"admin"},
             description=_l("City departments that handle applications and reports."), order=82),
    nav_item("staff_admin.districts", _l("Districts"), roles={"admin"},
             description=_l("The city's districts residents choose from."), order=83),
    nav_item("staff_admin.audit_log", _l("Audit log"), roles={"admin"},
             description=_l("Who did what, when and from where."), order=90),
    nav_item("staff_admin.failed_events", _l("Failed webhook events"), roles={"admin"},
             description=_l("Residents' messages the bot could not process, to replay."),
             order=91),
]

from staff.admin import audit_views, places_views, users  # noqa: E402,F401  (register routes)
from staff.admin import failed_events_views  # noqa: E402,F401  (bot's dead letter)
