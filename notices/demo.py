"""Notices' demo data: the six age reminders of notices/demo/reminders.json (data, not code)."""

from __future__ import annotations

from cityhall.demodata import DemoContext
from notices import reminders


def demo_data(ctx: DemoContext) -> None:
    """Add the demo age reminders (an age that already has one is left alone)."""
    added = reminders.load_demo(ctx.session)
    ctx.notes.append(f"{added} age reminders (1, 3, 11, 17, 35 and 66 months)")
