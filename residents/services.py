"""Registration, household, partner invite codes and My data: plain functions on a Session."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import District, Resident
from models.conversation import Conversation
from models.application import Submission
from models.household import Child, Guardian, Household, InviteCode
from residents.signals import profile_changed, registration_erasing

INVITE_VALID_FOR = timedelta(days=7)
# No 0/O, 1/I/L: a code is read aloud or copied by hand.
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GUARDIAN_FIELDS = ("name", "kana", "phone", "postal_code", "address", "district")
CHILD_FIELDS = ("name", "kana", "birth_date", "sex", "notes")


def guardian_of(session: Session, resident: Resident) -> Guardian | None:
    """Return the resident's registration, if any."""
    return session.scalars(select(Guardian).where(Guardian.resident_id == resident.id)).first()


def _guardian_values(answers: dict[str, Any]) -> dict[str, Any]:
    values = {k: answers[k] for k in GUARDIAN_FIELDS if k in answers}
    if "district" in values:
        values["district_code"] = values.pop("district")
    return values


def _child(household: Household, answers: dict[str, Any]) -> Child:
    return Child(household=household, name=answers["name"], kana=answers["kana"],
                 birth_date=date.fromisoformat(answers["birth_date"]),
                 sex=answers.get("sex"), notes=answers.get("notes"))


def register(session: Session, resident: Resident, answers: dict[str, Any],
             now: datetime) -> Guardian:
    """Create the household, the guardian and the children from the registration answers."""
    household = Household(created_at=now)
    session.add(household)
    guardian = Guardian(resident_id=resident.id, household=household, consented_at=now,
                        **_guardian_values(answers))
    session.add(guardian)
    for child in answers.get("children", []):
        session.add(_child(household, child))
    _set_language(resident, answers)
    session.flush()
    return guardian


def _set_language(resident: Resident, answers: dict[str, Any]) -> None:
    if answers.get("language"):
        resident.language = answers["language"]
        resident.language_chosen = True


def update_guardian(session: Session, guardian: Guardian, resident: Resident,
                    answers: dict[str, Any]) -> None:
    """Change the given items of a guardian's own data."""
    for key, value in _guardian_values(answers).items():
        setattr(guardian, key, value)
    _set_language(resident, answers)
    session.flush()
    changed = [f"guardian.{key}" for key in GUARDIAN_FIELDS if key in answers]
    if "language" in answers:
        changed.append("resident.language")
    profile_changed.send(resident, session=session, guardian=guardian, changed=changed)


def add_child(session: Session, household: Household, answers: dict[str, Any]) -> Child:
    """Add a child to the household."""
    child = _child(household, answers)
    session.add(child)
    session.flush()
    return child


def update_child(session: Session, child: Child, answers: dict[str, Any],
                 resident: Resident | None = None) -> None:
    """Change the given items of a child (told to listeners as the resident's change)."""
    for key in CHILD_FIELDS:
        if key in answers:
            value = answers[key]
            setattr(child, key, date.fromisoformat(value) if key == "birth_date" else value)
    session.flush()
    guardian = guardian_of(session, resident) if resident is not None else None
    profile_changed.send(resident, session=session, guardian=guardian,
                         changed=[f"child.{key}" for key in CHILD_FIELDS if key in answers])


def household_child(session: Session, resident: Resident, child_id: int) -> Child | None:
    """Return a child of the resident's household by id (None for anyone else's child)."""
    guardian = guardian_of(session, resident)
    child = session.get(Child, child_id)
    return child if guardian and child and child.household_id == guardian.household_id else None


# Partner invite codes


def format_code(code: str) -> str:
    """Show a code as ABCD-EFGH."""
    return f"{code[:4]}-{code[4:]}"


def normalize_code(text: str) -> str:
    """Read a typed code: any case, with or without the hyphen."""
    return text.strip().upper().replace("-", "").replace(" ", "")


def create_invite(session: Session, guardian: Guardian, now: datetime) -> InviteCode:
    """Make a one-time code for a partner to join the guardian's household."""
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))
    invite = InviteCode(code=code, household_id=guardian.household_id, created_at=now,
                        expires_at=now + INVITE_VALID_FOR)
    session.add(invite)
    session.flush()
    return invite


def usable_invite(session: Session, code: str, now: datetime) -> InviteCode | None:
    """Return the invite if it exists, is unused and has not expired."""
    invite = session.get(InviteCode, normalize_code(code))
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    return invite


def claim_invite(session: Session, code: str, resident: Resident, now: datetime) -> int | None:
    """Use the code once; return its household id, or None if it was used or expired.

    One conditional UPDATE: two partners racing for the same code cannot both win.
    """
    result = session.execute(
        update(InviteCode)
        .where(InviteCode.code == normalize_code(code), InviteCode.used_at.is_(None),
               InviteCode.expires_at > now)
        .values(used_at=now, used_by_resident_id=resident.id)
        .returning(InviteCode.household_id))
    return result.scalar()


def join_household(session: Session, resident: Resident, code: str, answers: dict[str, Any],
                   now: datetime) -> Guardian | None:
    """Register a partner into the household of the invite code; None if the code is spent."""
    household_id = claim_invite(session, code, resident, now)
    if household_id is None:
        return None
    guardian = Guardian(resident_id=resident.id, household_id=household_id, consented_at=now,
                        **_guardian_values(answers))
    session.add(guardian)
    _set_language(resident, answers)
    session.flush()
    return guardian


# What the city holds, and erasure


def profile(session: Session, resident: Resident) -> dict[str, Any]:
    """Return the resident's data by prefill key (see bot.flows.hooks.PREFILL_KEYS)."""
    known: dict[str, Any] = {"resident.language": resident.language}
    guardian = guardian_of(session, resident)
    if guardian is None:
        return known
    for key in ("name", "kana", "phone", "postal_code", "address"):
        known[f"guardian.{key}"] = getattr(guardian, key)
    known["guardian.district"] = guardian.district_code
    children = guardian.household.children
    if len(children) == 1:
        known["household.child"] = {"id": children[0].id, "name": children[0].name}
    return known


def district_name(session: Session, code: str, language: str) -> str:
    """Return a district's name in the language, or its code."""
    district = session.scalars(select(District).where(District.code == code)).first()
    if district is None:
        return code
    return district.name_en if language == "en" else district.name_ja


def delete_registration(session: Session, resident: Resident) -> bool:
    """Remove the resident's personal data; keep anonymous records of what was submitted."""
    guardian = guardian_of(session, resident)
    household = guardian.household if guardian else None
    last_guardian = household is not None and len(household.guardians) == 1
    registration_erasing.send(resident, session=session,
                              household=household if last_guardian else None)
    _anonymize_submissions(session, resident, household if last_guardian else None)
    session.execute(Conversation.__table__.delete().where(Conversation.resident_id == resident.id))
    if guardian is not None:
        session.delete(guardian)
    if last_guardian:
        session.delete(household)
    resident.display_name = None
    session.flush()
    return guardian is not None


def _anonymize_submissions(session: Session, resident: Resident,
                           household: Household | None) -> None:
    """Blank the answers and unlink the person; form, department, status and date remain."""
    condition = Submission.resident_id == resident.id
    if household is not None:
        condition = condition | (Submission.household_id == household.id)
    session.execute(update(Submission).where(condition)
                    .values(answers={}, resident_id=None, household_id=None))
