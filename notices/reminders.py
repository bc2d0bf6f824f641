"""Age-triggered reminders: a notice to a child's guardians when the child reaches an age.

"Once per child, ever" is the primary key of age_reminders_sent: the daily job inserts the
(reminder, child) pairs that are due with ON CONFLICT DO NOTHING and sends only to the pairs
its own INSERT returned, so a second run, a restart or a second clock sends nothing twice.
A child is due from the day it completes the reminder's age in months until a month later
(so a missed day catches up, and a child registered years later is not reminded of infancy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from cityhall.city import City
from cityhall.db import dialect_insert
from models.household import Child, Guardian
from models.notice import AgeReminder, NoticeTopic, ReminderSent
from notices import services
from notices.segments import born_range
from notices.settings import NoticeSettings

DEMO_FILE = Path(__file__).resolve().parent / "demo" / "reminders.json"


def add_reminder(session: Session, *, age_months: int, title: str, bodies: Mapping[str, str],
                 link_url: str | None = None, active: bool = True,
                 titles: Mapping[str, str] | None = None) -> AgeReminder:
    """Store a reminder; raise NoticeError saying what is wrong with it.

    `title` is the Japanese title; `titles` the title in other languages, each optional.
    """
    clean = services.clean_texts(bodies)
    clean_titles = {k: v for k, v in services.clean_texts(titles or {}).items() if k != "ja"}
    problem = (reminder_problem(age_months, title.strip(), clean, link_url)
               or services.titles_problem(clean_titles, clean))
    if problem:
        raise services.NoticeError(problem)
    reminder = AgeReminder(age_months=age_months, title=title.strip(), titles=clean_titles or None,
                           bodies=clean, link_url=link_url or None, active=active)
    session.add(reminder)
    session.flush()
    return reminder


def reminder_problem(age_months: Any, title: str, bodies: Mapping[str, str],
                     link_url: str | None) -> str | None:
    """Return why a reminder cannot be stored, or None."""
    if not isinstance(age_months, int) or not 0 <= age_months <= 240:
        return "The age is a whole number of months from 0 to 240."
    return services.compose_problem(title, bodies, NoticeTopic.REMINDERS.value, link_url, None)


def send_due(session: Session, now: datetime, city: City, settings: NoticeSettings) -> int:
    """Send every active reminder to the guardians of children who reached its age; return
    how many (reminder, child) pairs were sent by this run."""
    today = city.today(now)
    total = 0
    for reminder in session.scalars(select(AgeReminder).where(AgeReminder.active)
                                    .order_by(AgeReminder.id)).all():
        due = (select(literal(reminder.id), Child.id, literal(today))
               .where(born_range(today, reminder.age_months, reminder.age_months),
                      Child.household_id.in_(select(Guardian.household_id))))
        claimed = session.execute(
            dialect_insert(session)(ReminderSent)
            .from_select(["reminder_id", "child_id", "sent_on"], due)
            .on_conflict_do_nothing()
            .returning(ReminderSent.child_id)).scalars().all()
        if not claimed:
            continue
        total += len(claimed)
        residents = session.scalars(
            select(Guardian.resident_id).where(Guardian.household_id.in_(
                select(Child.household_id).where(Child.id.in_(claimed))))).all()
        notice = services.send_to_residents(
            session, residents, title=reminder.title, titles=reminder.titles,
            bodies=reminder.bodies,
            topic=NoticeTopic.REMINDERS.value, now=now, city=city, settings=settings,
            source=f"reminder:{reminder.id}", link_url=reminder.link_url)
        notice.kind = "reminder"
        session.execute(update(ReminderSent)
                        .where(ReminderSent.reminder_id == reminder.id,
                               ReminderSent.child_id.in_(claimed))
                        .values(notice_id=notice.id))
    return total


def load_demo(session: Session) -> int:
    """Add the demo reminders (a data file, not code) unless a reminder of that age exists."""
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    ages = set(session.scalars(select(AgeReminder.age_months)))
    added = 0
    for item in data:
        if item["age_months"] in ages:
            continue
        add_reminder(session, age_months=item["age_months"], title=item["title"],
                     titles=item.get("titles"), bodies=item["bodies"],
                     link_url=item.get("link_url"))
        added += 1
    return added
