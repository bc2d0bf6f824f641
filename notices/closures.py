"""Who a center's closure concerns: families inside it when it closed, families who visited it in
the last 30 days, and whatever other features add (events: families holding a reservation there
that day), through `register_closure_source`.

    from notices import closures
    closures.register_closure_source("events", holders_on_day)

`source(center_id, day, ctx)` returns a SELECT of one column of resident ids. Register in the
feature's `setup`; the same function twice is a no-op, another under a taken name an error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import Select, or_, select, union

from models.household import Guardian
from models.visit import Visit
from notices.segments import SegmentContext

VISITED_WITHIN = timedelta(days=30)

ClosureSource = Callable[[int, date, SegmentContext], Select]
_sources: dict[str, ClosureSource] = {}


def register_closure_source(name: str, source: ClosureSource) -> None:
    """Add the residents `source(center_id, day, ctx)` selects to every closure alert."""
    known = _sources.get(name)
    if known is not None and known is not source:
        raise ValueError(f"closure source {name!r} is registered twice")
    _sources[name] = source


def unregister_closure_source(name: str) -> None:
    _sources.pop(name, None)


def inside_at(center_id: int, moment: datetime) -> Select:
    """Select the resident ids of the households inside the center at `moment`."""
    return (select(Guardian.resident_id)
            .join(Visit, Visit.household_id == Guardian.household_id)
            .where(Visit.center_id == center_id, Visit.checked_in_at <= moment,
                   or_(Visit.checked_out_at.is_(None), Visit.checked_out_at > moment)))


def visited_since(center_id: int, since: datetime) -> Select:
    """Select the resident ids of the households who visited the center since `since`."""
    return (select(Guardian.resident_id)
            .join(Visit, Visit.household_id == Guardian.household_id)
            .where(Visit.center_id == center_id, Visit.checked_in_at >= since))


def closure_value(center_id: int, day: date, moment: datetime) -> dict[str, object]:
    """Return the internal segment value that selects a closure's families."""
    return {"center_id": center_id, "day": day.isoformat(), "at": moment.isoformat()}


def recipient_ids(value: dict[str, object], ctx: SegmentContext) -> Select:
    """Select everyone a closure concerns: inside at its moment, visitors, other features' own."""
    center_id = int(value["center_id"])
    day = date.fromisoformat(str(value["day"]))
    moment = datetime.fromisoformat(str(value["at"]))
    parts = [inside_at(center_id, moment), visited_since(center_id, moment - VISITED_WITHIN)]
    parts += [source(center_id, day, ctx) for source in _sources.values()]
    return union(*parts).subquery().select()


def exempt_ids(value: dict[str, object]) -> Select:
    """Select the families inside the center when it closed: their opt-out does not apply."""
    return inside_at(int(value["center_id"]), datetime.fromisoformat(str(value["at"])))
