"""Check-in's demo data: months of visits with the shape Minokamo's centers reported.

Visits follow the usual hours (Monday to Saturday, arrivals 09:00-15:59, closed on Sundays and
from 29 December to 3 January) whatever the demo's own opening hours are. The shape:

- weekdays: Wednesday is the busiest day, Saturday the quietest open one;
- hours: a morning peak at 10:00, a lull at lunch, a smaller peak at 14:00;
- ages: children of 2 and 3 come more often than those of 0 and 1, and from 4 on they are
  mostly at kindergarten;
- families: about half were registered before the period and keep coming; the others register
  during it and their first visit (a "new" family) is on the day they register; a few walk-ins
  without LINE; a few families are inside right now, so the roster is not empty.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from checkin.services import age_in_months
from cityhall.demodata import DemoContext
from models import Center, District
from models.household import Child, Guardian, Household
from models.visit import Visit, VisitChild

WEEKDAY = (0.95, 1.0, 1.45, 1.05, 0.95, 0.75, 0.0)  # Monday first; Sunday closed
HOURS = {9: 0.7, 10: 1.6, 11: 1.2, 12: 0.45, 13: 0.75, 14: 1.0, 15: 0.5}  # arrivals
AGE = (0.45, 0.75, 1.3, 1.15, 0.55, 0.4, 0.3)  # by completed years on the visit day
MONTH = (0.85, 0.9, 1.0, 1.05, 1.1, 1.0, 1.05, 0.8, 0.95, 1.1, 1.05, 0.9)  # August is hot
ACTIVITY = ((0.3, 0.6, 1.0, 1.6, 2.8), (0.25, 0.25, 0.25, 0.15, 0.1))
BASE = 0.14  # visits per open day of an average family, before the factors above
CLOSING_HOUR = 16
YEAR_END = ((12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3))


@dataclass
class Family:
    """A registered household as the visits need it."""

    id: int
    district: str
    joined_day: date
    residents: list[int]
    children: list[tuple[int, date]]
    home: int
    activity: float


def demo_data(ctx: DemoContext) -> None:
    """Generate the visits day by day, insert them in bulk, and put a few families inside."""
    centers = list(ctx.session.scalars(select(Center.id).where(Center.active)
                                       .order_by(Center.id)))
    families = load_families(ctx, centers)
    if not centers or not families:
        ctx.note("no centers or households: no visits")
        return
    seen = {f.id for f in families if f.joined_day < ctx.first_day}
    districts = list(ctx.session.scalars(select(District.code).order_by(District.id)))
    visits: list[tuple[dict, list[dict]]] = []
    for day in ctx.days():
        if is_open(day):
            visits += day_visits(ctx, day, families, centers, seen)
            visits += [walk_in(ctx, day, center, districts) for center in centers
                       if ctx.rng.random() < 0.12]
    visits += inside_now(ctx, families, centers, seen)
    ids = ctx.insert(Visit, [v for v, _kids in visits], with_ids=True)
    ctx.insert(VisitChild, [kid | {"visit_id": vid} for vid, (_v, kids) in zip(ids, visits)
                            for kid in kids])
    new = sum(1 for v, _kids in visits if v["first_visit"] and v["household_id"])
    ctx.note(f"{len(visits)} visits from {ctx.first_day} ({new} first visits of registered "
             f"families, {sum(1 for v, _k in visits if v['checked_out_at'] is None)} inside now)")


def is_open(day: date) -> bool:
    """The usual opening days: Monday to Saturday, except the New Year holidays."""
    return WEEKDAY[day.weekday()] > 0 and (day.month, day.day) not in YEAR_END


def load_families(ctx: DemoContext, centers: list[int]) -> list[Family]:
    """Read every household with children, and give each a home center and a habit."""
    session = ctx.session
    center_of = dict(session.execute(select(District.code, Center.id).join(
        Center, Center.district_id == District.id).where(Center.active)).all())
    codes = list(session.scalars(select(District.code).order_by(District.id)))
    # A district without a center of its own goes to one of the centers, always the same.
    homes = {code: center_of.get(code, centers[n % len(centers)] if centers else 0)
             for n, code in enumerate(codes)}
    guardians: dict[int, list[tuple[int, str]]] = {}
    for household_id, resident_id, district in session.execute(select(
            Guardian.household_id, Guardian.resident_id, Guardian.district_code)
            .order_by(Guardian.id)):
        guardians.setdefault(household_id, []).append((resident_id, district))
    children: dict[int, list[tuple[int, date]]] = {}
    for child_id, household_id, birth in session.execute(select(
            Child.id, Child.household_id, Child.birth_date).order_by(Child.id)):
        children.setdefault(household_id, []).append((child_id, birth))
    families = []
    for household_id, joined in session.execute(select(Household.id, Household.created_at)
                                                .order_by(Household.id)):
        if household_id not in guardians or household_id not in children:
            continue
        district = guardians[household_id][0][1]
        families.append(Family(household_id, district, ctx.city.today(joined),
                               [r for r, _d in guardians[household_id]],
                               children[household_id], homes.get(district, centers[0]),
                               ctx.rng.choices(*ACTIVITY)[0]))
    return families


def day_visits(ctx: DemoContext, day: date, families: list[Family], centers: list[int],
               seen: set[int]) -> list[tuple[dict, list[dict]]]:
    """Decide who comes on one open day, where, when, with which children."""
    rng = ctx.rng
    factor = BASE * WEEKDAY[day.weekday()] * MONTH[day.month - 1]
    found = []
    for family in families:
        if family.joined_day > day:
            continue
        kids = [(cid, age) for cid, birth in family.children if (day - birth).days >= 14
                and (age := age_in_months(birth, day)) < 84]
        if not kids:
            continue
        first = family.id not in seen
        # A new family's first visit is the day it registers (or the next open day).
        chance = 1.0 if first else factor * family.activity * max(AGE[a // 12] for _c, a in kids)
        if rng.random() >= chance:
            continue
        center = family.home if first or rng.random() < 0.8 else rng.choice(centers)
        found.append(visit(ctx, day, family, center, pick_children(rng, kids), first))
        seen.add(family.id)
    return found


def pick_children(rng: random.Random, kids: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """All the children most days; otherwise one, the younger ones more likely."""
    if len(kids) == 1 or rng.random() < 0.55:
        return kids
    return [rng.choices(kids, [AGE[a // 12] for _c, a in kids])[0]]


def arrival(ctx: DemoContext, day: date) -> datetime:
    """A check-in time on the day, by the hourly pattern."""
    hour = ctx.rng.choices(list(HOURS), list(HOURS.values()))[0]
    return ctx.at(day, hour, ctx.rng.randrange(60), ctx.rng.randrange(60))


def departure(ctx: DemoContext, day: date, start: datetime) -> tuple[datetime, str]:
    """When and how the visit ended: a scan or staff, or the clock's check-out at closing."""
    end = start + timedelta(minutes=ctx.rng.triangular(20, 180, 70))
    closing = ctx.at(day, CLOSING_HOUR)
    if end >= closing:
        return closing, "auto"
    return end, "scan" if ctx.rng.random() < 0.9 else "staff"


def visit(ctx: DemoContext, day: date, family: Family, center: int,
          kids: list[tuple[int, int]], first: bool) -> tuple[dict, list[dict]]:
    start = arrival(ctx, day)
    end, how = departure(ctx, day, start)
    method = "poster" if ctx.rng.random() < 0.88 else "staff"
    return ({"center_id": center, "household_id": family.id,
             "resident_id": ctx.rng.choice(family.residents), "walk_in_name": None,
             "district_code": family.district, "method": method, "first_visit": first,
             "checked_in_at": start, "checked_out_at": end, "checkout_method": how},
            [{"child_id": cid, "age_months": age, "checked_out_at": end} for cid, age in kids])


def walk_in(ctx: DemoContext, day: date, center: int,
            districts: list[str]) -> tuple[dict, list[dict]]:
    """A family without LINE, checked in by staff with a name and a child's age."""
    start = arrival(ctx, day)
    end, how = departure(ctx, day, start)
    name = ctx.names.person(ctx.names.family()).name
    district = ctx.rng.choice(districts) if districts and ctx.rng.random() < 0.8 else None
    return ({"center_id": center, "household_id": None, "resident_id": None,
             "walk_in_name": name, "district_code": district, "method": "staff",
             "first_visit": True, "checked_in_at": start, "checked_out_at": end,
             "checkout_method": "staff" if how == "scan" else how},
            [{"child_id": None, "age_months": ctx.rng.randint(4, 40), "checked_out_at": end}])


def inside_now(ctx: DemoContext, families: list[Family], centers: list[int],
               seen: set[int]) -> list[tuple[dict, list[dict]]]:
    """Two or three families per center checked in during the last hour and still inside."""
    today = ctx.today
    ready = [f for f in families if f.id in seen and f.joined_day < today]
    found = []
    for center in centers:
        local = [f for f in ready if f.home == center]
        for family in ctx.rng.sample(local, min(len(local), ctx.rng.randint(2, 3))):
            ready.remove(family)
            kids = [(cid, age_in_months(birth, today)) for cid, birth in family.children
                    if (today - birth).days >= 14]
            if not kids:
                continue
            # Within the last hour, but today (a demo started just after midnight included).
            start = max(ctx.now - timedelta(minutes=ctx.rng.randint(5, 60)),
                        ctx.city.at(today, "00:00"))
            row, children = visit(ctx, today, family, center, kids, first=False)
            row.update(checked_in_at=start, checked_out_at=None, checkout_method=None,
                       method="poster")
            found.append((row, [kid | {"checked_out_at": None} for kid in children]))
    return found
