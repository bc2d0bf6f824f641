"""QR check-in and check-out at child-support centers (services, staff blueprint, templates)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the chat handlers, the clock job and the staff pages."""
    from checkin import chat, jobs, staff_views  # noqa: F401  (importing registers them)

    app.register_blueprint(staff_views.bp)
    app.register_blueprint(staff_views.api)
