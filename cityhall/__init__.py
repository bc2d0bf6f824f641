"""Smartphone City Hall: this package only assembles the app (factory, configuration, CLI)."""

from __future__ import annotations

import logging

from flask import Flask

from cityhall.config import Config, ConfigError, proxy_hops, require_production_settings


def create_app(config: Config | None = None) -> Flask:
    """Build the web app: extensions, the webhook, health, then every configured feature.

    Web, worker and clock all come through here, so they load the same features, and each
    refuses to start with missing, public or weak secrets (ConfigError names them); only
    TestingConfig skips the check.
    """
    config = config or Config()
    if not config.TESTING:
        require_production_settings(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config)
    install_url_converters(app)
    trust_proxies(app)
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


def install_url_converters(app: Flask) -> None:
    """Bound every URL converter before any route is added (rules bind converters then)."""
    from cityhall.urls import CONVERTERS

    app.url_map.converters.update(CONVERTERS)


def trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from CITYHALL_PROXY_HOPS trusted proxies only.

    With 0 (the default) forwarded headers are ignored: anyone can send them, so trusting
    them without a proxy that overwrites them would let a caller choose its own address.
    """
    hops = proxy_hops(app.config.get("CITYHALL_PROXY_HOPS", 0))
    if hops is None:
        raise ConfigError(["CITYHALL_PROXY_HOPS must be a whole number from 0 to 5"])
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore
