"""Evidence for planning the next events, as dashboards (through the dashboards feature).

Each build function is (session, filters, language, now) -> (frame, extra): events of the
centers in the staff member's scope whose local date is in the filter's range.

- per event: capacity, reserved, attended, no-shows (places), waitlist peak (households
  waiting at once), offers declined and expired, unmet demand (households still waiting when
  the event started);
- per period (day, week, month): the same, summed;
- fill rate (reserved / capacity, %) by weekday and hour, and by the age band an event is for
  (the band of its youngest age);
- suggestions: per weekday and age band, the events that had a waitlist and the unmet
  households, beside the average visits on that weekday (the visit heatmap's figures).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboards.services import (AGE_BAND_LABELS, AGE_BANDS, Chart, Filters, age_band,
                                 visit_heatmap, weekday_names)
from models.event import Event, Reservation, WaitlistEntry

ROLES = ("admin", "center")
LABELS = {
    "event": _l("Event"), "date": _l("Date"), "capacity": _l("Capacity"),
    "reserved": _l("Reserved"), "attended": _l("Attended"), "no_shows": _l("No-shows"),
    "waitlist_peak": _l("Waitlist peak"), "declined": _l("Offers declined"),
    "expired": _l("Offers expired"), "unmet": _l("Unmet demand (households)"),
    "period": _l("Period"), "events": _l("Events"), "fill": _l("Fill rate (%)"),
    "weekday": _l("Weekday"), "hour": _l("Hour"), "band": _l("Age band"),
    "with_waitlist": _l("Events with a waitlist"), "visits": _l("Average visits that weekday"),
}
FIGURES = ["capacity", "reserved", "attended", "no_shows", "waitlist_peak", "declined",
           "expired", "unmet"]


def events_in_view(session: Session, f: Filters) -> list[Event]:
    """Return the events of the filter's centers whose local date is in its range."""
    start = f.city.at(f.start, "00:00")
    end = f.city.at(f.end + timedelta(days=1), "00:00")
    return list(session.scalars(select(Event).where(
        Event.center_id.in_(f.center_ids or [-1]), Event.starts_at >= start,
        Event.starts_at < end).order_by(Event.starts_at, Event.id)))


def figures(session: Session, event: Event, now: datetime) -> dict[str, int]:
    """Compute one event's figures (see the module)."""
    reservations = session.scalars(select(Reservation).where(
        Reservation.event_id == event.id, Reservation.status == "reserved")).all()
    entries = session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.event_id == event.id)).all()
    ended = now >= event.ends_at
    attended = sum(r.places for r in reservations if r.attended_at is not None)
    statuses = [e.status for e in entries]
    return {
        "capacity": event.capacity, "reserved": sum(r.places for r in reservations),
        "attended": attended,
        "no_shows": sum(r.places for r in reservations if r.attended_at is None) if ended else 0,
        "waitlist_peak": waitlist_peak(entries, event), "declined": statuses.count("declined"),
        "expired": statuses.count("expired"), "unmet": statuses.count("unmet"),
    }


def waitlist_peak(entries, event: Event) -> int:
    """Return the most households that were on the waitlist at the same moment."""
    changes = []
    for entry in entries:
        changes.append((entry.created_at, 1))
        if entry.ended_at is not None:
            changes.append((entry.ended_at, -1))
    peak = current = 0
    for _moment, step in sorted(changes, key=lambda c: (c[0], c[1])):
        current += step
        peak = max(peak, current)
    return peak


def target_band(event: Event) -> str:
    """The age band an event is for: its youngest age's band ("all" without an age range)."""
    if event.min_age_months is None and event.max_age_months is None:
        return "all"
    return age_band(event.min_age_months or 0)


def band_label(key: str) -> str:
    return str(_l("All ages")) if key == "all" else str(AGE_BAND_LABELS[key])


def _per_event(session, f, language, now):
    import pandas as pd  # here, not at import: the worker and clock load this feature
    rows = [{"event": e.title(language), "date": f.city.local(e.starts_at).strftime(
        "%Y-%m-%d %H:%M"), **figures(session, e, now)}
        for e in events_in_view(session, f) if e.cancelled_at is None]
    return pd.DataFrame(rows, columns=["event", "date", *FIGURES]), {}


def period_key(day, grain: str) -> str:
    if grain == "month":
        return day.strftime("%Y-%m")
    if grain == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()


def _per_period(session, f, language, now):
    import pandas as pd  # here, not at import: the worker and clock load this feature
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(["events", *FIGURES], 0))
    for event in events_in_view(session, f):
        if event.cancelled_at is not None:
            continue
        row = totals[period_key(f.city.today(event.starts_at), f.grain)]
        row["events"] += 1
        for key, value in figures(session, event, now).items():
            row[key] += value
    frame = pd.DataFrame([{"period": k, **v} for k, v in sorted(totals.items())],
                         columns=["period", "events", *FIGURES])
    return frame, {}


def _fill(reserved: int, capacity: int) -> float:
    return round(100 * reserved / capacity, 1) if capacity else 0.0


def _fill_by_time(session, f, language, now):
    import pandas as pd  # here, not at import: the worker and clock load this feature
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in events_in_view(session, f):
        if event.cancelled_at is not None:
            continue
        local = f.city.local(event.starts_at)
        cell = sums[(local.weekday(), local.hour)]
        cell[0] += 1
        cell[1] += figures(session, event, now)["reserved"]
        cell[2] += event.capacity
    names = weekday_names()
    rows = [{"weekday": names[w], "hour": h, "events": n, "fill": _fill(r, c)}
            for (w, h), (n, r, c) in sorted(sums.items())]
    return (pd.DataFrame(rows, columns=["weekday", "hour", "events", "fill"]),
            {"y_order": names})


BAND_ORDER = ["all", *(key for key, _low, _below in AGE_BANDS)]


def _fill_by_band(session, f, language, now):
    import pandas as pd  # here, not at import: the worker and clock load this feature
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for event in events_in_view(session, f):
        if event.cancelled_at is not None:
            continue
        numbers = figures(session, event, now)
        cell = sums[target_band(event)]
        cell[0] += 1
        cell[1] += numbers["reserved"]
        cell[2] += event.capacity
        cell[3] += numbers["unmet"]
    rows = [{"band": band_label(b), "events": sums[b][0], "fill": _fill(sums[b][1], sums[b][2]),
             "unmet": sums[b][3]} for b in BAND_ORDER if b in sums]
    return pd.DataFrame(rows, columns=["band", "events", "fill", "unmet"]), {}


def _suggestions(session, f, language, now):
    """Weekday and age band of events that had a waitlist, beside the visits that weekday."""
    import pandas as pd  # here, not at import: the worker and clock load this feature
    cells: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in events_in_view(session, f):
        if event.cancelled_at is not None:
            continue
        numbers = figures(session, event, now)
        cell = cells[(f.city.local(event.starts_at).weekday(), target_band(event))]
        cell[0] += 1
        cell[1] += 1 if numbers["waitlist_peak"] else 0
        cell[2] += numbers["unmet"]
    heat = visit_heatmap(session, f)
    per_weekday = heat.groupby("weekday")["average"].sum() if len(heat) else pd.Series(dtype=float)
    names = weekday_names()
    rows = [{"weekday": names[w], "band": band_label(b), "events": n, "with_waitlist": wl,
             "unmet": unmet, "visits": round(float(per_weekday.get(w, 0.0)), 1)}
            for (w, b), (n, wl, unmet) in cells.items() if wl]
    frame = pd.DataFrame(rows, columns=["weekday", "band", "events", "with_waitlist", "unmet",
                                        "visits"])
    return frame.sort_values(["unmet", "with_waitlist", "visits"], ascending=False,
                             ignore_index=True), {}


CHARTS = [
    Chart("events", _l("Events: participation"), _l("Per event: capacity, reserved, attended, "
                                                    "no-shows, waitlist peak, offers declined "
                                                    "and expired, unmet demand."),
          ROLES, _per_event, {"kind": "bar", "x": "event",
                              "y": ["capacity", "reserved", "attended", "no_shows"]},
          labels=LABELS),
    Chart("events-periods", _l("Events per period"), _l("The same figures per day, week or "
                                                        "month."),
          ROLES, _per_period, {"kind": "bar", "x": "period",
                               "y": ["capacity", "reserved", "attended", "unmet"]},
          ("center", "dates", "grain"), labels=LABELS),
    Chart("events-fill", _l("Events: fill rate by weekday and hour"),
          _l("Places reserved as a share of capacity, by the start's weekday and hour."),
          ROLES, _fill_by_time, {"kind": "heatmap", "x": "hour", "y": "weekday", "z": "fill"},
          labels=LABELS),
    Chart("events-ages", _l("Events: fill rate by age band"),
          _l("Fill rate and unmet demand by the age band an event is for."),
          ROLES, _fill_by_band, {"kind": "bar", "x": "band", "y": ["fill", "unmet"]},
          labels=LABELS),
    Chart("events-suggestions", _l("Events: where demand was unmet"),
          _l("Weekdays and age bands whose events had a waitlist, beside the average visits on "
             "that weekday: candidates for more or larger events."),
          ROLES, _suggestions, {"kind": "bar", "x": "weekday", "y": ["unmet", "with_waitlist"]},
          labels=LABELS),
]
