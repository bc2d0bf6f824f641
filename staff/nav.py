"""Navigation items per role: each feature lists its pages, the layout shows the allowed ones.

    from staff.nav import nav_item
    NAV = [nav_item("checkin.roster", _l("Now in the center"), roles={"admin", "center"},
                    description=_l("Who is in your center right now"), order=20)]

and in the feature's declaration `Feature(nav=NAV, ...)`; the loader refuses an endpoint two
features list.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from models.staff import StaffRole, StaffUser


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy string, translated when the page renders
    roles: frozenset[StaffRole]
    description: object = ""
    order: int = 100


def nav_item(endpoint: str, label: object, roles: Collection[str], *,
             description: object = "", order: int = 100) -> NavItem:
    """Describe a page shown in the navigation and on the home page to staff with one of `roles`."""
    return NavItem(endpoint, label, frozenset(StaffRole(r) for r in roles), description, order)


def nav_for(user: StaffUser | None) -> list[NavItem]:
    """Return the items this staff member may open, in display order."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    from cityhall.features import current

    items = [i for i in current().nav if user.role in i.roles]
    return sorted(items, key=lambda i: (i.order, i.endpoint))
