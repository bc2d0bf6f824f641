"""Residents: registration, household and partners, My data, applications, the rich menu."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the staff inbox of applications (pages and JSON)."""
    from residents import staff_views

    app.register_blueprint(staff_views.bp)
    app.register_blueprint(staff_views.api)
