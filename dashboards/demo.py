"""Dashboards' demo data: the rollups of the demo visits, so every chart shows them at once."""

from __future__ import annotations

from cityhall.demodata import DemoContext
from dashboards import aggregate


def demo_data(ctx: DemoContext) -> None:
    """Rebuild the rollups from every visit (the clock's job keeps them current afterwards)."""
    result = aggregate.rebuild(ctx.session, ctx.now, city=ctx.city)
    ctx.note(f"rollups rebuilt ({result.periods} center-days)")
