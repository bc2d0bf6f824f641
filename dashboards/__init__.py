"""Usage rollups and charts for staff, fed by the scheduled aggregation of visit logs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the clock jobs and the staff pages, JSON endpoints and downloads."""
    from dashboards import jobs, views  # noqa: F401  (importing registers them)

    app.register_blueprint(views.bp)
    app.register_blueprint(views.api)
    app.register_blueprint(views.vendor)
