"""Unfollow: the resident blocked the account; stop pushing, keep their data."""

from __future__ import annotations

from bot.context import EventContext
from bot.dispatch import on


@on("unfollow")
def handle(ctx: EventContext) -> None:
    """Mark the resident as blocked so the worker skips them."""
    resident = ctx.resident()
    resident.blocked = True
    resident.blocked_at = ctx.now
