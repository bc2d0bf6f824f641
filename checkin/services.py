"""Check-in and check-out: plain functions of a Session and `now`; no LINE, no Flask views.

The bot's handlers, the staff pages and the clock all call these. "One visit per scan" is
made true by the database (one open visit row per child, see models/visit.py), not by a
read-then-write check: a scan that loses a race gets AlreadyInside.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.outbox import enqueue
from checkin import cards, tokens
from cityhall.city import City
from cityhall.db import dialect_insert
from cityhall.i18n import format_clock, translate
from models import Center, Resident
from models.center import WEEKDAYS, CheckinMode
from models.closure import CenterClosure
from models.household import Child, Guardian, Household
from checkin.signals import visit_ended, visit_started
from models.visit import CenterPoster, PendingCheckin, Visit, VisitChild

# A second scan this soon after the first is a double scan, not a check-out.
DOUBLE_SCAN = timedelta(seconds=10)
# How long a scan waits for the resident's choice of children, or for registration.
PENDING_VALID_FOR = timedelta(minutes=30)


class CheckinRefused(Exception):
    """A scan that changes nothing; `reason` says why (invalid, expired, revoked, ...)."""

    def __init__(self, reason: str, center: Center | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.center = center


class AlreadyInside(Exception):
    """Another scan (a double scan, or a partner at the same moment) checked in first."""


@dataclass
class ScanResult:
    """What a scan did: "in", "out", "choose", "just_in", "just_out", "closed", "no_children"."""

    kind: str
    center: Center
    visit: Visit | None = None
    moved_from: list[Visit] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)


# Time and opening hours


def hours_on(center: Center, day: date, *, city: City) -> tuple[datetime, datetime] | None:
    """Return (opens, closes) on a local day, or None when the center is closed that day."""
    if day.isoformat() in (center.closed_days or []):
        return None
    hours = center.hours_on(WEEKDAYS[day.weekday()])
    return (city.at(day, hours[0]), city.at(day, hours[1])) if hours else None


def close_for_day(session: Session, center: Center, day: date, reason: str,
                  now: datetime) -> CenterClosure:
    """Close a center for a day (check-in refuses, giving the reason); return the closure.

    Closing the same day again replaces the reason. Other features (notices' closure
    alerts) call this; it only marks the day, it tells no one.
    """
    session.execute(dialect_insert(session)(CenterClosure)
                    .values(center_id=center.id, day=day, reason=reason, closed_at=now)
                    .on_conflict_do_update(index_elements=["center_id", "day"],
                                           set_={"reason": reason, "closed_at": now,
                                                 "reopened_at": None}))
    if day.isoformat() not in (center.closed_days or []):
        center.closed_days = sorted([*(center.closed_days or []), day.isoformat()])
    session.flush()
    return session.scalars(select(CenterClosure).where(
        CenterClosure.center_id == center.id, CenterClosure.day == day)
        .execution_options(populate_existing=True)).one()


def reopen_day(session: Session, center: Center, day: date, now: datetime) -> CenterClosure | None:
    """Open a day closed by `close_for_day` again; return its closure, or None if none."""
    closure = closure_on(session, center, day)
    if closure is None:
        return None
    closure.reopened_at = now
    center.closed_days = [d for d in (center.closed_days or []) if d != day.isoformat()]
    session.flush()
    return closure


def closure_on(session: Session, center: Center, day: date) -> CenterClosure | None:
    """Return the closure in force for a center on a day, if any."""
    return session.scalars(select(CenterClosure).where(
        CenterClosure.center_id == center.id, CenterClosure.day == day,
        CenterClosure.reopened_at.is_(None))).one_or_none()


def is_open(center: Center, now: datetime, *, city: City) -> bool:
    """Tell whether the center is open at `now`."""
    hours = hours_on(center, city.today(now), city=city)
    return hours is not None and hours[0] <= now < hours[1]


def closing_time(center: Center, checked_in_at: datetime, *, city: City) -> datetime:
    """Return when a visit begun at `checked_in_at` ends at the latest: closing, or midnight."""
    day = city.today(checked_in_at)
    hours = hours_on(center, day, city=city)
    if hours is not None and checked_in_at < hours[1]:
        return hours[1]
    return city.at(day, "24:00")


def age_in_months(birth: date, day: date) -> int:
    """Return a child's completed months of age on a day."""
    months = (day.year - birth.year) * 12 + day.month - birth.month
    return max(0, months - (1 if day.day < birth.day else 0))


# Tokens and posters


def poster_version(session: Session, center: Center) -> int:
    """Return the version the center's current poster carries."""
    row = session.get(CenterPoster, center.id)
    return row.version if row else 1


def reissue_poster(session: Session, center: Center, now: datetime) -> int:
    """Make a new poster version: every older poster stops working. Return the version."""
    row = session.get(CenterPoster, center.id)
    if row is None:
        row = CenterPoster(center_id=center.id, version=1, issued_at=now)
        session.add(row)
    row.version += 1
    row.issued_at = now
    session.flush()
    return row.version


def current_token(session: Session, center: Center, now: datetime) -> str:
    """Return the token for the center's mode: the poster's, or the kiosk's of this window."""
    if center.checkin_mode == CheckinMode.KIOSK:
        return tokens.kiosk_token(center.code, now)
    return tokens.poster_token(center.code, poster_version(session, center))


def center_for_token(session: Session, text: str, now: datetime) -> Center:
    """Return the center a scanned token names, or raise CheckinRefused saying why not."""
    try:
        claim = tokens.verify(text, now)
    except tokens.TokenError as err:
        raise CheckinRefused(err.reason) from err
    center = session.scalars(select(Center).where(Center.code == claim.center_code)).first()
    if center is None or not center.active:
        raise CheckinRefused("unknown_center")
    if claim.kind != center.checkin_mode.value:
        raise CheckinRefused("revoked", center)  # the center changed mode: old codes stop
    if claim.kind == "poster" and claim.number != poster_version(session, center):
        raise CheckinRefused("revoked", center)
    return center


# Visits


def open_visits(session: Session, household_id: int) -> list[Visit]:
    """Return the household's visits that have not ended."""
    return list(session.scalars(select(Visit).where(
        Visit.household_id == household_id, Visit.checked_out_at.is_(None)).order_by(Visit.id)))


def last_checkout(session: Session, household_id: int, center_id: int) -> Visit | None:
    """Return the household's most recently ended visit at a center."""
    return session.scalars(select(Visit).where(
        Visit.household_id == household_id, Visit.center_id == center_id,
        Visit.checked_out_at.is_not(None)).order_by(Visit.checked_out_at.desc())).first()


def check_out(session: Session, visit: Visit, now: datetime, method: str) -> bool:
    """End a visit; False when it had already ended (a racing scan or staff got there first)."""
    # Conditional UPDATE: of two racing check-outs, the second waits and then matches no row.
    won = session.execute(
        update(Visit).where(Visit.id == visit.id, Visit.checked_out_at.is_(None))
        .values(checked_out_at=now, checkout_method=method).returning(Visit.id)
        .execution_options(synchronize_session=False)).first() is not None
    if not won:
        session.expire(visit)
        return False
    session.execute(update(VisitChild).where(VisitChild.visit_id == visit.id)
                    .values(checked_out_at=now).execution_options(synchronize_session=False))
    set_committed_value(visit, "checked_out_at", now)
    set_committed_value(visit, "checkout_method", method)
    for child in visit.children:
        set_committed_value(child, "checked_out_at", now)
    visit_ended.send(visit, session=session, now=now, method=method)
    return True


def _new_visit(session: Session, center: Center, now: datetime, method: str,
               household: Household | None, **values: object) -> Visit:
    first = household is None or not session.scalar(
        select(exists().where(Visit.household_id == household.id)))
    return Visit(center_id=center.id, household_id=household.id if household else None,
                 method=method, first_visit=first, checked_in_at=now, **values)


def check_in(session: Session, center: Center, guardian: Guardian, children: list[Child],
             now: datetime, method: str, resident: Resident | None = None, *,
             city: City) -> tuple[Visit, list[Visit]]:
    """Open a visit for these children, ending the household's visits elsewhere.

    Returns (visit, visits ended elsewhere). Raises AlreadyInside when another scan won a race:
    the savepoint undoes only this attempt, and the event's transaction goes on.
    """
    day = city.today(now)
    elsewhere = open_visits(session, guardian.household_id)
    if any(v.center_id == center.id for v in elsewhere):
        raise AlreadyInside()
    try:
        with session.begin_nested():
            moved = [v for v in elsewhere if check_out(session, v, now, "moved")]
            visit = _new_visit(session, center, now, method, guardian.household,
                               resident_id=resident.id if resident else None,
                               district_code=guardian.district_code)
            visit.children = [VisitChild(child_id=c.id, age_months=age_in_months(c.birth_date, day))
                              for c in children]
            session.add(visit)
            session.flush()
    except IntegrityError as err:
        session.expire_all()  # what the savepoint changed is undone; reload it
        raise AlreadyInside() from err
    visit_started.send(visit, session=session, now=now)
    return visit, moved


def scan(session: Session, center: Center, guardian: Guardian, now: datetime, *,
         city: City) -> ScanResult:
    """Decide what a scan at the door means: check out, check in, ask which children, or nothing."""
    inside = [v for v in open_visits(session, guardian.household_id) if v.center_id == center.id]
    if inside:
        visit = inside[0]
        if now - visit.checked_in_at < DOUBLE_SCAN:
            return ScanResult("just_in", center, visit)
        return ScanResult("out" if check_out(session, visit, now, "scan") else "just_out",
                          center, visit)
    ended = last_checkout(session, guardian.household_id, center.id)
    if ended is not None and ended.checkout_method == "scan" and now - ended.checked_out_at < DOUBLE_SCAN:
        return ScanResult("just_out", center, ended)
    return choose_or_check_in(session, center, guardian, now, city=city)


def choose_or_check_in(session: Session, center: Center, guardian: Guardian,
                       now: datetime, *, city: City) -> ScanResult:
    """Check in a guardian with one child at once; with several, ask which."""
    if not is_open(center, now, city=city):
        return ScanResult("closed", center)
    children = list(guardian.household.children)
    if not children:
        return ScanResult("no_children", center)
    if len(children) > 1:
        return ScanResult("choose", center, children=children)
    try:
        visit, moved = check_in(session, center, guardian, children, now, center.checkin_mode.value,
                                guardian_resident(session, guardian), city=city)
    except AlreadyInside:
        return ScanResult("just_in", center)
    return ScanResult("in", center, visit, moved)


def guardian_resident(session: Session, guardian: Guardian) -> Resident | None:
    """Return the LINE follower behind a guardian."""
    return session.get(Resident, guardian.resident_id)


def check_in_chosen(session: Session, center: Center, guardian: Guardian, choice: str,
                    now: datetime, method: str, *, city: City) -> ScanResult:
    """Check in the children the resident chose ("all" or one child's id)."""
    if not is_open(center, now, city=city):
        return ScanResult("closed", center)
    children = [c for c in guardian.household.children if choice in ("all", str(c.id))]
    if not children:
        return ScanResult("no_children", center)
    try:
        visit, moved = check_in(session, center, guardian, children, now, method,
                                guardian_resident(session, guardian), city=city)
    except AlreadyInside:
        return ScanResult("just_in", center)
    return ScanResult("in", center, visit, moved)


# Scans waiting for the resident


def remember_pending(session: Session, resident: Resident, center: Center, method: str,
                     now: datetime) -> str:
    """Keep the scan until the resident chooses children or finishes registering; return its nonce."""
    nonce = secrets.token_urlsafe(6)
    values = {"center_id": center.id, "method": method, "nonce": nonce, "created_at": now}
    session.execute(dialect_insert(session)(PendingCheckin)
                    .values(resident_id=resident.id, **values)
                    .on_conflict_do_update(index_elements=["resident_id"], set_=values))
    return nonce


def take_pending(session: Session, resident: Resident, now: datetime,
                 nonce: str | None = None) -> PendingCheckin | None:
    """Use a waiting scan once (a second tap finds nothing); None when gone or too old."""
    condition = [PendingCheckin.resident_id == resident.id,
                 PendingCheckin.created_at > now - PENDING_VALID_FOR]
    if nonce is not None:
        condition.append(PendingCheckin.nonce == nonce)
    row = session.execute(delete(PendingCheckin).where(*condition).returning(
        PendingCheckin.center_id, PendingCheckin.method)).first()
    return PendingCheckin(resident_id=resident.id, center_id=row[0], method=row[1]) if row else None


# Staff


def roster(session: Session, center: Center) -> list[Visit]:
    """Return the visits open at a center now, earliest first."""
    return list(session.scalars(select(Visit).where(
        Visit.center_id == center.id, Visit.checked_out_at.is_(None)).order_by(Visit.checked_in_at)))


def guardian_name(session: Session, visit: Visit) -> str:
    """Return the name to show on the roster: the scanning guardian's, or the walk-in's."""
    if visit.walk_in_name:
        return visit.walk_in_name
    query = select(Guardian.name).where(Guardian.household_id == visit.household_id)
    if visit.resident_id:
        query = query.order_by((Guardian.resident_id == visit.resident_id).desc())
    return session.scalars(query.order_by(Guardian.id)).first() or "—"


def visitor_language(session: Session, visit: Visit) -> str | None:
    """Return the language the scanning resident reads (None for a family without LINE)."""
    if visit.resident_id is None:
        return None
    return session.scalars(select(Resident.language).where(Resident.id == visit.resident_id)).first()


def check_in_walk_in(session: Session, center: Center, name: str, district_code: str | None,
                     birth_dates: list[date], now: datetime, *, city: City) -> Visit:
    """Check in a family without LINE, by hand: name, district, children's birth dates."""
    day = city.today(now)
    visit = _new_visit(session, center, now, "staff", None, walk_in_name=name,
                       district_code=district_code)
    visit.children = [VisitChild(age_months=age_in_months(b, day)) for b in birth_dates]
    session.add(visit)
    session.flush()
    visit_started.send(visit, session=session, now=now)
    return visit


def kana_key(text: str) -> str:
    """Fold a kana name for comparison: width (NFKC), hiragana as katakana, no spaces."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c
                   for c in folded if not c.isspace())


def guardian_by_phone_and_kana(session: Session, phone: str, kana: str) -> Guardian | None:
    """Find the registered guardian whose phone number and kana name both match.

    None when either differs, without saying which: a phone number alone must not let staff
    learn that a family exists, nor find its name.
    """
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", phone) if ch.isdigit())
    key = kana_key(kana).encode()
    if not digits or not key:
        return None
    for guardian in session.scalars(select(Guardian).where(Guardian.phone == digits)
                                    .order_by(Guardian.id)):
        if hmac.compare_digest(kana_key(guardian.kana).encode(), key):
            return guardian
    return None


def check_in_by_staff(session: Session, center: Center, guardian: Guardian,
                      now: datetime, *, city: City) -> tuple[Visit, list[Visit]]:
    """Check in all of a family's children by hand, and tell its guardians by push.

    Raises AlreadyInside like a scan. A visit elsewhere ends, and the push says so.
    """
    visit, moved = check_in(session, center, guardian, list(guardian.household.children), now,
                            "staff", city=city)
    tell_family_of_staff_check_in(session, guardian.household, visit, moved, city=city)
    return visit, moved


def tell_family_of_staff_check_in(session: Session, household: Household, visit: Visit,
                                  moved: list[Visit], *, city: City) -> None:
    """Queue one card per guardian, in their language: who checked in where, what ended."""
    center = session.get(Center, visit.center_id)
    names = visit_children_names(household, visit)

    def card_for(language: str) -> dict[str, Any]:
        def t(message: str, **variables: object) -> str:
            return translate(language, message, **variables)
        alt_text = staff_check_in_text(session, language, center, visit, moved, names, city=city)
        return cards.checked_in(t, center=center.name(language),
                                time=format_clock(language, city.local(visit.checked_in_at)),
                                names=names, by_staff=True, alt_text=alt_text,
                                ended=[session.get(Center, m.center_id).name(language)
                                       for m in moved])

    push_to_guardians(session, household, f"staff-checkin:{visit.id}", card_for)


def visit_children_names(household: Household, visit: Visit) -> str:
    """Join the names of the household's children in this visit, the Japanese way."""
    in_visit = {vc.child_id for vc in visit.children}
    return "、".join(c.name for c in household.children if c.id in in_visit)


def push_to_guardians(session: Session, household: Household, source: str,
                      message_for: Callable[[str], dict[str, Any]]) -> None:
    """Queue one push per guardian who still follows us, worded in their language."""
    for guardian in household.guardians:
        resident = session.get(Resident, guardian.resident_id)
        if resident is None or resident.blocked:
            continue
        enqueue(session, [resident.line_user_id], [message_for(resident.language)],
                source=source)


def staff_check_in_text(session: Session, language: str, center: Center, visit: Visit,
                        moved: list[Visit], names: str, *, city: City) -> str:
    """Say that staff checked the family in by hand, and which visit elsewhere that ended."""
    lines = [translate(language, "The staff of %(center)s checked you in by hand at %(time)s: "
                                 "%(names)s.", center=center.name(language),
                       time=format_clock(language, city.local(visit.checked_in_at)), names=names)]
    lines += [translate(language, "This ended your visit at %(center)s.",
                        center=session.get(Center, m.center_id).name(language)) for m in moved]
    lines.append(translate(language, "If this was not you, please tell the center."))
    return "\n".join(lines)


def stay_text(language: str, visit: Visit) -> str:
    """Show how long an ended visit lasted, in hours and minutes."""
    hours, minutes = divmod(int((visit.checked_out_at - visit.checked_in_at).total_seconds())
                            // 60, 60)
    if hours:
        return translate(language, "%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return translate(language, "%(minutes)s min", minutes=minutes)


def check_out_by_staff(session: Session, visit: Visit, now: datetime, *, city: City) -> bool:
    """Check a family out by hand and tell its guardians by push; False when already out."""
    if not check_out(session, visit, now, "staff"):
        return False
    household = session.get(Household, visit.household_id) if visit.household_id else None
    if household is not None:  # a walk-in family has no LINE to tell
        tell_family_of_staff_check_out(session, household, visit, city=city)
    return True


def tell_family_of_staff_check_out(session: Session, household: Household, visit: Visit, *,
                                   city: City) -> None:
    """Queue one push per guardian, in their language: who checked out where, when, how long."""
    center = session.get(Center, visit.center_id)
    names = visit_children_names(household, visit)

    def card_for(language: str) -> dict[str, Any]:
        def t(message: str, **variables: object) -> str:
            return translate(language, message, **variables)
        time = format_clock(language, city.local(visit.checked_out_at))
        alt_text = "\n".join([
            t("The staff of %(center)s checked you out by hand at %(time)s: %(names)s. "
              "You stayed %(stay)s.", center=center.name(language), time=time, names=names,
              stay=stay_text(language, visit)),
            t("If this was not you, please tell the center.")])
        return cards.checked_out(t, center=center.name(language), time=time,
                                 stay=stay_text(language, visit), names=names, by_staff=True,
                                 alt_text=alt_text)

    push_to_guardians(session, household, f"staff-checkout:{visit.id}", card_for)


# The clock


def auto_check_out(session: Session, now: datetime, *, city: City) -> list[Visit]:
    """End every visit still open after its center closed, at the closing time."""
    ended = []
    for visit in session.scalars(select(Visit).where(Visit.checked_out_at.is_(None))):
        center = session.get(Center, visit.center_id)
        closes = closing_time(center, visit.checked_in_at, city=city)
        if closes <= now and check_out(session, visit, closes, "auto"):
            ended.append(visit)
    return ended


def close_household_visits(session: Session, household: Household, now: datetime) -> None:
    """End a household's open visits (its registration is being deleted)."""
    for visit in open_visits(session, household.id):
        check_out(session, visit, now, "erased")


def erase_household(resident: Resident, *, session: Session, household: Household | None,
                    **_: object) -> None:
    """On residents' registration_erasing: unlink the resident's visits.

    Statistics keep center, times, district and ages only. A deleted household first ends
    its open visits (no visit stays open on a roster), then loses every link to its visits
    and children.
    """
    if household is not None:
        close_household_visits(session, household, datetime.now(UTC))
        session.execute(update(VisitChild).where(VisitChild.child_id.in_(
            select(Child.id).where(Child.household_id == household.id))).values(child_id=None)
            .execution_options(synchronize_session=False))
        session.execute(update(Visit).where(Visit.household_id == household.id)
                        .values(household_id=None).execution_options(synchronize_session=False))
    session.execute(update(Visit).where(Visit.resident_id == resident.id).values(resident_id=None)
                    .execution_options(synchronize_session=False))
    session.execute(delete(PendingCheckin).where(PendingCheckin.resident_id == resident.id))
