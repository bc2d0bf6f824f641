"""Staff web settings: defaults read from the environment when the app is built."""

from __future__ import annotations

import os

from flask import Flask

from models.staff import StaffRole


def role_list(value: str) -> frozenset[str]:
    """Parse a comma-separated list of roles; refuse an unknown one rather than ignore it."""
    roles = frozenset(r.strip() for r in value.split(",") if r.strip())
    unknown = roles - {r.value for r in StaffRole}
    if unknown:
        raise ValueError(f"unknown staff role(s): {', '.join(sorted(unknown))}")
    return roles


# name -> (environment variable, default, type)
DEFAULTS: dict[str, tuple[str, str, object]] = {
    "STAFF_IDLE_MINUTES": ("STAFF_IDLE_MINUTES", "30", int),
    "STAFF_SESSION_HOURS": ("STAFF_SESSION_HOURS", "12", int),
    "STAFF_ACCOUNT_FREE_FAILURES": ("STAFF_ACCOUNT_FREE_FAILURES", "5", int),
    "STAFF_ADDRESS_FREE_FAILURES": ("STAFF_ADDRESS_FREE_FAILURES", "20", int),
    "STAFF_THROTTLE_FIRST_SECONDS": ("STAFF_THROTTLE_FIRST_SECONDS", "1", int),
    "STAFF_THROTTLE_MAX_SECONDS": ("STAFF_THROTTLE_MAX_SECONDS", "900", int),
    "STAFF_THROTTLE_FORGET_HOURS": ("STAFF_THROTTLE_FORGET_HOURS", "24", int),
    "STAFF_SECOND_FACTOR_ROLES": ("STAFF_SECOND_FACTOR_ROLES", "admin", role_list),
    "STAFF_SECOND_STEP_MINUTES": ("STAFF_SECOND_STEP_MINUTES", "5", int),
    "STAFF_PASSWORD_MIN_LENGTH": ("STAFF_PASSWORD_MIN_LENGTH", "12", int),
}


def apply_defaults(app: Flask) -> None:
    """Fill in every staff setting the configuration object did not set."""
    for name, (variable, default, kind) in DEFAULTS.items():
        if name not in app.config:
            app.config[name] = kind(os.environ.get(variable, default))
