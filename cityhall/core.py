"""The core every deployment loads before its features: the bot's global router, its jobs.

Not a feature (it cannot be left out), but declared the same way so the loader treats
everything alike: the bot's router comes first, so "cancel", "language" and "help" win.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from bot.chat import router
from bot.flows.jobs import expire_forms
from cityhall.features import Feature
from cityhall.jobs import prune_webhook_events, purge_outbox


def setup(app: Flask) -> None:
    """Read and check every form now: a broken file stops the start-up with its name and field."""
    from bot.flows.registry import forms

    forms().all()


feature = Feature(
    name="core",
    router=router,
    jobs=[prune_webhook_events, purge_outbox, expire_forms],
    translations=Path(__file__).resolve().parent / "translations",
    setup=setup,
)
