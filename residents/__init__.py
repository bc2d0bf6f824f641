"""Residents: registration, household and partners, My data, applications, the rich menu."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the staff inbox of applications (pages and JSON) and the survey clock job."""
    from residents import jobs, staff_views  # noqa: F401  (importing registers the job)

    app.register_blueprint(staff_views.bp)
    app.register_blueprint(staff_views.api)
