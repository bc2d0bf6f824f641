"""The reports feature: citizen reports in the chat, the staff map, Open311, disaster mode."""

from __future__ import annotations

import os

from flask import Flask

from cityhall.features import Feature
from reports import chat, cli, demo, menu, open311, services, staff_charts, staff_views
from residents.signals import registration_erasing

# name -> (environment variable, default)
SETTINGS = {
    "CITYHALL_BOUNDARY": ("CITYHALL_BOUNDARY", ""),  # GeoJSON file; empty: the demo city's
    "REPORTS_TILE_URL": ("REPORTS_TILE_URL", ""),  # e.g. a city tile server; empty: no tiles
    "REPORTS_TILE_ATTRIBUTION": ("REPORTS_TILE_ATTRIBUTION", ""),
    "OPEN311_API_KEYS": ("OPEN311_API_KEYS", ""),  # comma-separated; empty: no POST
}


def setup(app: Flask) -> None:
    """Fill in the feature's settings; forget a resident whose registration is erased."""
    for name, (variable, default) in SETTINGS.items():
        if name not in app.config:
            app.config[name] = os.environ.get(variable, default)
    open311.init_app(app)
    registration_erasing.connect(services.erase_resident)


feature = Feature(
    name="reports",
    requires=("staff", "residents", "dashboards"),
    blueprints=lambda: [staff_views.bp, staff_views.api, open311.bp],
    router=chat.router,
    nav=staff_views.NAV,
    charts=staff_charts.CHARTS,
    menu_variants=[menu.DISASTER_MENU],
    jobs=[menu.sync_rich_menu],
    cli=[cli.reports_group],
    translations=Feature.folder(__file__, "translations"),
    demo_data=demo.demo_data,
    setup=setup,
)
