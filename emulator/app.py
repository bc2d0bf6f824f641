"""Assemble the emulator: one Flask app serving the API, data API, control API and chat page."""
from __future__ import annotations

from flask import Flask

from . import api, chat, control, menus
from .core import EXTENSION_KEY, Platform
from .state import Store


def create_app(channel_secret: str, access_token: str, webhook_url: str | None = None,
               reply_token_ttl: float = 60.0) -> Flask:
    """Build an emulated LINE platform for one channel."""
    app = Flask(__name__, static_folder=None)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions[EXTENSION_KEY] = Platform(
        channel_secret=channel_secret, access_token=access_token,
        store=Store(webhook_url), reply_token_ttl=reply_token_ttl)
    # The Messaging API and the data (blob) API share paths-by-prefix, so one app serves both hosts.
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(menus.bp)
    app.register_blueprint(chat.bp)
    return app
