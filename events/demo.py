"""Events' demo data: past events with attendance and waitlists, upcoming ones half full,
and one full with a waitlist, at every active center, from the households already there.

`demo_data(ctx)` is the feature's `cityhall demo-data` hook (`Feature.demo_data`): it takes a
`cityhall.demodata.DemoContext` (`session`, `now`, `city`, the feature's seeded `rng`,
`note(text)`), and runs after residents' households and check-in's visits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from cityhall.demodata import DemoContext
from events import services
from models import Center
from models.event import Event, Reservation, ReservationChild, WaitlistEntry
from models.household import Guardian, Household

# (Japanese title, English title, youngest and oldest age in months, weekday, hour, capacity)
PROGRAMME = [
    ("ねんねの赤ちゃん会", "Baby time", 0, 11, 1, 10, 8),
    ("親子リトミック", "Rhythm and movement", 12, 35, 2, 10, 12),
    ("絵本の読み聞かせ", "Story time", 24, 71, 3, 14, 15),
    ("はじめての離乳食", "First solid food", 4, 11, 4, 11, 6),
]
PAST_WEEKS = 8
ATTENDANCE = 0.82


def demo_data(ctx: DemoContext) -> None:
    """Make the events and their reservations (see the module)."""
    session, now, city, rng = ctx.session, ctx.now, ctx.city, ctx.rng
    centers = list(session.scalars(select(Center).where(Center.active).order_by(Center.id)))
    guardians = list(session.scalars(select(Guardian).order_by(Guardian.id)))
    seen: set[int] = set()
    families = [g for g in guardians if not (g.household_id in seen or seen.add(g.household_id))]
    if not centers or not families:
        ctx.note("no centers or households: no events")
        return
    today = city.today(now)
    made = {"past": 0, "upcoming": 0, "reservations": 0, "waiting": 0}
    for center in centers:
        for n, (ja, en, low, high, weekday, hour, capacity) in enumerate(PROGRAMME):
            for week in range(-PAST_WEEKS, 3):
                day = _weekday_on_or_after(today + timedelta(weeks=week), weekday)
                start = city.at(day, f"{hour:02d}:00")
                event = Event(center_id=center.id, title_ja=ja, title_en=en,
                              description_ja=f"{ja}（デモ）", starts_at=start,
                              ends_at=start + timedelta(minutes=60), capacity=capacity,
                              unit="children", min_age_months=low, max_age_months=high,
                              created_at=start - timedelta(days=21), updated_at=now)
                session.add(event)
                session.flush()
                fitting = [g for g in families if _fits(event, g.household, city)]
                rng.shuffle(fitting)
                if start < now:
                    _past(session, event, fitting, rng, city, made)
                else:
                    full = center is centers[0] and n == 1 and week == 1
                    _upcoming(session, event, fitting, now, city, full, made)
    ctx.note(f"{made['past']} past and {made['upcoming']} upcoming events, "
             f"{made['reservations']} reservations, {made['waiting']} households waiting")


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _fits(event: Event, household: Household, city) -> bool:
    return bool(services.eligible_children(event, household, city))


def _past(session, event: Event, fitting: list[Guardian], rng, city,
          made: dict[str, int]) -> None:
    """Fill a past event: demand above capacity now and then, attendance about 82 %."""
    demand = int(event.capacity * rng.uniform(0.6, 1.5))
    taken = 0
    for guardian in fitting[:demand]:
        children = services.eligible_children(event, guardian.household, city)
        places = len(children)
        if taken + places > event.capacity:
            joined = event.starts_at - timedelta(days=rng.randint(2, 10))
            status = rng.choice(["unmet", "unmet", "expired", "declined"])
            session.add(WaitlistEntry(
                event_id=event.id, household_id=guardian.household_id, places=places,
                child_ids=[c.id for c, _ in children], ages=[m for _, m in children],
                status=status, created_at=joined,
                ended_at=event.starts_at if status == "unmet" else joined + timedelta(days=1)))
            made["waiting"] += 1
            continue
        taken += places
        came = rng.random() < ATTENDANCE
        session.add(Reservation(
            event_id=event.id, household_id=guardian.household_id,
            resident_id=guardian.resident_id, places=places, source="chat",
            created_at=event.starts_at - timedelta(days=rng.randint(3, 14)),
            attended_at=event.starts_at + timedelta(minutes=rng.randint(-20, 10)) if came else None,
            reminded_at=event.starts_at - timedelta(hours=17),
            children=[ReservationChild(child_id=c.id, age_months=m) for c, m in children]))
        made["reservations"] += 1
    event.taken = taken
    made["past"] += 1


def _upcoming(session, event: Event, fitting: list[Guardian], now: datetime, city,
              full: bool, made: dict[str, int]) -> None:
    """Book an upcoming event about half full, or full with a waitlist, through the services."""
    want = event.capacity + 4 if full else event.capacity // 2
    for guardian in fitting:
        if event.taken >= want and not full:
            break
        booking = services.reserve(session, event.id, guardian, None, now, city=city)
        session.refresh(event)
        made["reservations" if booking.kind == "reserved" else "waiting"] += 1
        if full and services.waiting_count(session, event.id) >= 4:
            break
    made["upcoming"] += 1
