"""The staff web shell as a feature: its pages, sign-in, security headers, job and command."""

from __future__ import annotations

from flask import Flask

from cityhall.features import Feature
from staff import admin, jobs, views
from staff.cli import create_staff


def setup(app: Flask) -> None:
    """Bind settings, the per-request session, sign-in and CSRF to the app."""
    from staff import args, auth, security, settings
    from staff.database import init_app as init_database

    settings.apply_defaults(app)
    init_database(app)
    security.init_app(app)
    args.init_app(app)
    auth.init_app(app)
    if "bot" in app.blueprints:
        security.csrf.exempt(app.blueprints["bot"])  # LINE signs the webhook; no CSRF token


feature = Feature(
    name="staff",
    blueprints=lambda: [views.bp, admin.bp],
    nav=[*views.NAV, *admin.NAV],
    jobs=[jobs.prune_staff_sign_ins],
    cli=[create_staff],
    translations=Feature.folder(__file__, "translations"),
    residents_read=False,
    setup=setup,
)
