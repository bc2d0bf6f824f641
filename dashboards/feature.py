"""The dashboards feature: aggregation jobs, chart pages, JSON, CSV and Excel downloads.

Charts come from every loaded feature's declaration (`Feature.charts`), these included.
"""

from __future__ import annotations

from cityhall.features import Feature, current
from dashboards import charts, demo, jobs, views
from dashboards.cli import aggregate_command


def blueprints():
    """Route every loaded feature's charts, then hand over the blueprints."""
    views.add_routes(list(current().charts.values()))
    return [views.bp, views.api, views.vendor]


feature = Feature(
    name="dashboards",
    requires=("staff",),
    blueprints=blueprints,
    charts=charts.CHARTS,
    jobs=[jobs.aggregate_visits, jobs.rebuild_rollups],
    nav=views.NAV,
    cli=[aggregate_command],
    translations=Feature.folder(__file__, "translations"),
    residents_read=False,  # staff pages only: residents never read its messages
    demo_data=demo.demo_data,
)
