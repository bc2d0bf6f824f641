"""Smartphone City Hall: this package only assembles the app (factory, configuration, CLI)."""

from __future__ import annotations

import logging

from flask import Flask

from cityhall.config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the web app: extensions, the webhook, health, and each feature's blueprint."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config or Config())
    app.json.ensure_ascii = False
    if not app.logger.handlers or app.config.get("TESTING"):
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from bot import gateway
    from cityhall import i18n
    from cityhall.db import db

    db.init_app(app)
    i18n.init_app(app)
    gateway.init_app(app)

    from bot.webhook import bp as webhook_bp
    from cityhall.health import bp as health_bp

    app.register_blueprint(webhook_bp)
    app.register_blueprint(health_bp)

    import staff
    from staff.security import csrf

    staff.init_app(app)
    csrf.exempt(webhook_bp)  # LINE signs the webhook; it carries no CSRF token

    import checkin

    checkin.init_app(app)  # check-in's chat handlers, clock job and staff pages

    import residents

    residents.init_app(app)  # the staff inbox of applications

    import dashboards

    dashboards.init_app(app)  # aggregation jobs, dashboard pages, JSON and downloads
    return app
