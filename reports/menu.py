"""Disaster mode's rich menu: every language's menu with a wide "report damage" area on top.

`cityhall richmenu` installs the variant beside the normal menus (aliases
`cityhall-<code>-disaster`). The admin's switch only stores the mode; the clock job
`reports-rich-menu` (every minute) then shows the variant to every resident, or the normal
menus again, through the gateway (the default menu and bulk links of 500): the admin's request
never waits for thousands of link calls. A resident whose language changes meanwhile is
linked to the variant of their language by the bot (`richmenu.active_variant`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import richmenu
from bot.gateway import LineError, gateway
from cityhall.db import dialect_insert
from cityhall.jobs import job
from models.report import ReportSetting
from reports import services
from reports.services import N_

log = logging.getLogger(__name__)

SHOWN = "richmenu_shown"  # report_settings key: the menu residents were last given
DISASTER_MENU = richmenu.MenuVariant(
    name="disaster", area=services.DISASTER_AREA, label_ja="災害被害を通報",
    label_en=N_("Report damage"), colour="#B71C1C", active=services.disaster_mode)


def shown_row(session: Session, now: datetime) -> ReportSetting:
    """Return the "menu shown" setting, locked (created on first use by an upsert)."""
    session.execute(dialect_insert(session)(ReportSetting).values(
        key=SHOWN, value=False, updated_at=now).on_conflict_do_nothing(index_elements=["key"]))
    return session.scalars(select(ReportSetting).where(ReportSetting.key == SHOWN)
                           .with_for_update().execution_options(populate_existing=True)).one()


@job("reports-rich-menu", "interval", "Show residents the disaster menu while disaster mode is "
     "on, the normal menus otherwise", minutes=1)
def sync_rich_menu(session: Session, now: datetime) -> int | None:
    """Give every resident the menu of the current mode, once per switch; return how many
    residents were linked (None when nothing changed or the menus are not installed)."""
    wanted = services.disaster_mode(session)
    row = shown_row(session, now)
    if bool(row.value) == wanted:
        return None
    try:
        linked = richmenu.show(gateway(), session, DISASTER_MENU if wanted else None)
    except LineError as err:  # the variant is not installed yet: `cityhall richmenu`
        log.warning("disaster rich menu not shown (run `cityhall richmenu`): %s", err)
        return None
    row.value, row.updated_at = wanted, now
    log.info("rich menu %s shown; %s residents linked", "disaster" if wanted else "normal",
             linked)
    return linked
