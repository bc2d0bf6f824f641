"""Staff web settings: defaults read from the environment when the app is built."""

from __future__ import annotations

import os

from flask import Flask

# name -> (environment variable, default, type)
DEFAULTS: dict[str, tuple[str, str, type]] = {
    "STAFF_IDLE_MINUTES": ("STAFF_IDLE_MINUTES", "30", int),
    "STAFF_SESSION_HOURS": ("STAFF_SESSION_HOURS", "12", int),
    "STAFF_LOCKOUT_FAILURES": ("STAFF_LOCKOUT_FAILURES", "5", int),
    "STAFF_ADDRESS_FAILURES": ("STAFF_ADDRESS_FAILURES", "20", int),
    "STAFF_LOCKOUT_MINUTES": ("STAFF_LOCKOUT_MINUTES", "15", int),
    "STAFF_PASSWORD_MIN_LENGTH": ("STAFF_PASSWORD_MIN_LENGTH", "12", int),
}


def apply_defaults(app: Flask) -> None:
    """Fill in every staff setting the configuration object did not set."""
    for name, (variable, default, kind) in DEFAULTS.items():
        if name not in app.config:
            app.config[name] = kind(os.environ.get(variable, default))
