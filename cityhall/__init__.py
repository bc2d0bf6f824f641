"""Smartphone City Hall: this package only assembles the app (factory, configuration, CLI)."""

from __future__ import annotations

import logging

from flask import Flask

from cityhall.config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the web app: extensions, the webhook, health, then every configured feature.

    The worker and the clock build the same app, so they load the same features.
    """
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config or Config())
    app.json.ensure_ascii = False
    if not app.logger.handlers or app.config.get("TESTING"):
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from bot import gateway
    from cityhall import features, i18n
    from cityhall.db import db

    app.extensions[features.EXTENSION] = features.load(app.config.get("CITYHALL_FEATURES"))
    db.init_app(app)
    i18n.init_app(app)
    gateway.init_app(app)

    from bot.webhook import bp as webhook_bp
    from cityhall.health import bp as health_bp

    app.register_blueprint(webhook_bp)
    app.register_blueprint(health_bp)
    features.init_app(app)
    return app
