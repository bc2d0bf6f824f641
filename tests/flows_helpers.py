"""Shared steps for the form tests: seed the city, register a resident, read the database."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from models import Resident
from models.application import Submission
from models.conversation import Conversation
from models.household import Guardian
from tests.chat import Resident as ChatResident

CHILDREN = [("山田太郎", "やまだ たろう", date(2021, 5, 3)), ("山田次郎", "ヤマダ ジロウ", date(2023, 1, 20))]


def seed_city(app) -> None:
    """Create the districts, centers and departments."""
    with app.app_context():
        from cityhall.db import db
        from cityhall.seed import seed

        with db.transaction() as session:
            seed(session)


def register(person: ChatResident, children: int = 2, name: str = "山田花子") -> None:
    """Register through the chat: guardian, then `children` children, then send."""
    person.menu("register")
    person.say(name)
    person.say("やまだ はなこ")
    person.say("090-1234-5678")
    person.say("505-0041")
    person.say("美濃加茂市太田町1-2-3")
    person.tap("太田")
    person.tap("はい")
    add_children(person, children)
    person.tap("送信")


def add_children(person: ChatResident, count: int) -> None:
    for index, (child, kana, born) in enumerate(CHILDREN[:count]):
        person.say(child)
        person.say(kana)
        person.pick_date(born)
        person.tap("スキップ")
        person.tap("スキップ")
        person.tap("はい" if index < count - 1 else "いいえ")


def query(app, fn) -> Any:
    """Run fn(session) in a short transaction on the app's database."""
    with app.app_context():
        from cityhall.db import db

        with db.transaction() as session:
            return fn(session)


def guardian(app, user_id: str) -> dict[str, Any] | None:
    """Return the stored guardian (with children names) of a LINE user, as plain data."""
    def read(session):
        found = session.scalars(select(Guardian).join(Resident, Resident.id == Guardian.resident_id)
                                .where(Resident.line_user_id == user_id)).first()
        if found is None:
            return None
        return {"id": found.id, "name": found.name, "kana": found.kana, "phone": found.phone,
                "postal_code": found.postal_code, "district": found.district_code,
                "household_id": found.household_id,
                "children": [(c.name, c.kana, c.birth_date, c.sex, c.notes)
                             for c in found.household.children]}
    return query(app, read)


def conversation(app, user_id: str) -> dict[str, Any] | None:
    """Return the user's conversations as plain data."""
    def read(session):
        rows = session.scalars(select(Conversation).join(Resident)
                               .where(Resident.line_user_id == user_id)).all()
        return [{"form": c.form_id, "status": c.status, "step": c.step, "nonce": c.nonce,
                 "answers": c.answers} for c in rows]
    return query(app, read)


def submissions(app, form_id: str | None = None) -> list[dict[str, Any]]:
    """Return every submission (of a form) as plain data."""
    def read(session):
        q = select(Submission).order_by(Submission.id)
        if form_id:
            q = q.where(Submission.form_id == form_id)
        return [{"id": s.id, "receipt": s.receipt_no, "answers": s.answers, "status": s.status,
                 "resident_id": s.resident_id, "household_id": s.household_id,
                 "submitted_at": s.submitted_at, "center": s.center_code}
                for s in session.scalars(q)]
    return query(app, read)
