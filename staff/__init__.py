"""The staff web shell: sign-in, roles scoped to centers and departments, audit log, layout.

Later features add their own blueprint and nav items; see docs/staff-web.md.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind sign-in, CSRF, security headers and the staff blueprints to the app."""
    from staff import admin, args, auth, jobs, security, settings, views  # noqa: F401
    from staff.database import init_app as init_database

    settings.apply_defaults(app)
    init_database(app)
    security.init_app(app)
    args.init_app(app)
    auth.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
