"""Navigation items per role: each feature registers its pages, the layout shows the allowed ones.

    from staff.nav import register_nav
    register_nav("checkin.roster", _l("Now in the center"), roles={"admin", "center"},
                 description=_l("Who is in your center right now"), order=20)
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


NAV_ITEMS: dict[str, NavItem] = {}


def register_nav(endpoint: str, label: object, roles: Collection[str], *,
                 description: object = "", order: int = 100) -> NavItem:
    """Show a page in the navigation and on the home page to staff with one of `roles`."""
    item = NavItem(endpoint, label, frozenset(StaffRole(r) for r in roles), description, order)
    NAV_ITEMS[endpoint] = item
    return item


def nav_for(user: StaffUser | None) -> list[NavItem]:
    """Return the items this staff member may open, in display order."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    items = [i for i in NAV_ITEMS.values() if user.role in i.roles]
    return sorted(items, key=lambda i: (i.order, i.endpoint))
