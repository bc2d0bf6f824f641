"""Registration, household, partner invite codes and My data: plain functions on a Session."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import messages
from bot.dedup import forget_user_events
from bot.outbox import drop_or_purge, enqueue, forget_recipient
from cityhall.i18n import translate
from models import District, OutboxMessage, Resident, utcnow
from models.audit import AuditLog
from models.conversation import Conversation
from models.household import Child, Guardian, Household, InviteCode
from residents.buttons import PartnerList
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
                   now: datetime, zone: ZoneInfo) -> Guardian | None:
    """Register a partner into the household of the invite code; None if the code is spent.

    The household's guardians are told at once who joined: a code that leaked cannot be used
    silently.
    """
    household_id = claim_invite(session, code, resident, now)
    if household_id is None:
        return None
    guardian = Guardian(resident_id=resident.id, household_id=household_id, consented_at=now,
                        created_at=now, **_guardian_values(answers))
    session.add(guardian)
    _set_language(resident, answers)
    session.flush()
    _log(session, "household.partner_joined", guardian.household_id, now, guardian=guardian.id)
    for other in partners(session, guardian):
        _push(session, other, f"partner-joined:{guardian.id}", partner_joined_message(
            _language(session, other), guardian.name, now.astimezone(zone)))
    return guardian


# Partners: who shares the household, and removing one


def partners(session: Session, guardian: Guardian) -> list[Guardian]:
    """Return the other guardians of the guardian's household, earliest first."""
    return list(session.scalars(select(Guardian).where(
        Guardian.household_id == guardian.household_id, Guardian.id != guardian.id)
        .order_by(Guardian.id)))


def may_remove(guardian: Guardian, partner: Guardian) -> bool:
    """Say whether a guardian may remove a partner: only one who joined after them.

    So a code holder who joined cannot push out the guardian who invited them.
    """
    return partner.household_id == guardian.household_id and partner.id > guardian.id


def removable_partner(session: Session, guardian: Guardian, partner_id: int) -> Guardian | None:
    """Return the partner this guardian may remove, or None (not in the household, earlier)."""
    partner = session.get(Guardian, partner_id) if partner_id > 0 else None
    return partner if partner is not None and may_remove(guardian, partner) else None


def remove_partner(session: Session, guardian: Guardian, partner_id: int,
                   now: datetime) -> Guardian | None:
    """Move a partner out of the household at once; None when it is not one this guardian may
    remove (a forged id, a stale button, someone already removed): then nothing changes.

    The partner keeps their own registration in a household of their own, without the
    children; their running form is dropped, the household's unused invite codes are
    cancelled, and they and the other guardians are told by push.
    """
    partner = removable_partner(session, guardian, partner_id)
    if partner is None:
        return None
    own = Household(created_at=now)
    session.add(own)
    session.flush()
    # Conditional UPDATE: of two guardians removing the same partner at once, one wins.
    moved = session.execute(update(Guardian).where(
        Guardian.id == partner.id, Guardian.household_id == guardian.household_id)
        .values(household_id=own.id).returning(Guardian.id)
        .execution_options(synchronize_session=False)).first()
    if moved is None:
        session.delete(own)
        session.flush()
        return None
    session.expire(partner)
    session.expire(guardian.household, ["guardians"])
    _after_removal(session, guardian, partner, now)
    return partner


def _after_removal(session: Session, guardian: Guardian, partner: Guardian,
                   now: datetime) -> None:
    """Close what the partner could still reach, log it and tell who needs to know."""
    session.execute(update(InviteCode).where(
        InviteCode.household_id == guardian.household_id, InviteCode.used_at.is_(None),
        InviteCode.expires_at > now).values(expires_at=now))
    session.execute(Conversation.__table__.delete().where(
        Conversation.resident_id == partner.resident_id))
    _log(session, "household.partner_removed", guardian.household_id, now,
         guardian=partner.id, by=guardian.id)
    _push(session, partner, f"partner-removed:{partner.id}",
          partner_removed_message(_language(session, partner)))
    for other in partners(session, guardian):
        _push(session, other, f"partner-removed:{partner.id}", partner_removed_notice(
            _language(session, other), partner.name, guardian.name))


def partner_joined_message(language: str, name: str, when: datetime) -> dict[str, Any]:
    """Tell a guardian who joined the household, when, and how to remove them."""
    return messages.text(translate(
        language, "%(name)s joined your household with an invite code (%(time)s). They can see "
        "the children's names, birth dates and notes, not your contact details. If you do not "
        "know this person, remove them: My data → Partners.", name=name,
        time=when.strftime("%Y-%m-%d %H:%M")), quick_replies=[messages.postback_item(
            translate(language, "Partners"), PartnerList(),
            translate(language, "Partners"))])


def partner_removed_message(language: str) -> dict[str, Any]:
    """Tell a removed partner what they lost and what they keep."""
    return messages.text(translate(
        language, "You were removed from the household you joined with an invite code. You no "
        "longer see its children. Your own registration remains: you can add your own children "
        "in My data."))


def partner_removed_notice(language: str, name: str, by: str) -> dict[str, Any]:
    """Tell the other guardians that a partner was removed, and by whom."""
    return messages.text(translate(language, "%(name)s was removed from your household by "
                                   "%(by)s.", name=name, by=by))


def _language(session: Session, guardian: Guardian) -> str:
    resident = session.get(Resident, guardian.resident_id)
    return resident.language if resident else "ja"


def _push(session: Session, guardian: Guardian, source: str, message: dict[str, Any]) -> None:
    """Queue a push to a guardian's LINE account (none once they blocked the account)."""
    resident = session.get(Resident, guardian.resident_id)
    if resident is not None and not resident.blocked:
        enqueue(session, [resident.line_user_id], [message], source=source)


def _log(session: Session, action: str, household_id: int, now: datetime,
         **ids: int) -> None:
    """Keep the change in the audit log: ids only, no names (the log is never erased)."""
    session.add(AuditLog(action=action, target=f"household:{household_id}", detail=ids, at=now))


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


def delete_registration(session: Session, resident: Resident, now: datetime | None = None) -> bool:
    """Remove the resident's personal data; keep only anonymous records (docs/decisions.md).

    This feature erases its own data (submissions, uploads, survey ballots), then tells the
    others on `registration_erasing` (check-in unlinks its visits); the outbox goes last, so nothing queued by the steps before reaches the resident. A
    reply sent after this transaction (the confirmation) is not affected.
    """
    now = now or utcnow()
    guardian = guardian_of(session, resident)
    household = guardian.household if guardian else None
    last_guardian = household is not None and len(household.guardians) == 1
    erased = household if last_guardian else None
    from residents import applications, surveys  # they import this module

    applications.erase(session, resident, erased)
    surveys.erase(session, resident, erased)
    registration_erasing.send(resident, session=session, household=erased)
    session.execute(Conversation.__table__.delete().where(Conversation.resident_id == resident.id))
    session.execute(update(InviteCode).where(InviteCode.used_by_resident_id == resident.id)
                    .values(used_by_resident_id=None).execution_options(synchronize_session=False))
    if guardian is not None:
        forget_partner_notices(session, guardian, now)
        session.delete(guardian)
    if last_guardian:
        session.delete(household)
    resident.display_name = None
    forget_user_events(session, resident.line_user_id)
    forget_recipient(session, resident.line_user_id, now)
    session.flush()
    return guardian is not None


def forget_partner_notices(session: Session, guardian: Guardian, now: datetime) -> None:
    """Drop or purge the partner notices that name this guardian to the other guardians.

    A notice still waiting is dropped: the guardian it announces or names is gone.
    """
    rows = session.scalars(select(OutboxMessage).where(
        OutboxMessage.source.startswith("partner-joined:")
        | OutboxMessage.source.startswith("partner-removed:")))
    for row in rows:
        names = guardian.name in json.dumps(row.messages, ensure_ascii=False)
        if names or row.source == f"partner-joined:{guardian.id}":
            drop_or_purge(session, row, now)

