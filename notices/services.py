"""Notices: compose, approve, schedule, queue into the outbox, cancel, count; opt-outs; closures.

Plain functions of a Session, `now`, the City and NoticeSettings; no Flask. The public entry
points other features call (docs/notices.md):

- `send_to_segment(session, title=..., bodies=..., segment=..., topic=..., now=..., city=...)`
- `send_to_residents(session, resident_ids, title=..., bodies=..., topic=..., now=..., city=...)`
- `segments.register_criterion(key, builder)` and `closures.register_closure_source(name, fn)`

A notice's delivery is a few outbox rows (multicasts of up to 500 residents who read the same
language), written in the caller's transaction; the worker sends them with one retry key each.
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import groupby
from operator import itemgetter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.orm import Session

from bot.outbox import enqueue
from checkin import services as checkin_services
from cityhall.city import City
from cityhall.db import dialect_insert
from cityhall.languages import KNOWN
from models import Center, OutboxMessage, OutboxStatus, Resident, utcnow
from models.notice import (Notice, NoticeImage, NoticeOptOut,
                           NoticeStatus, NoticeTopic)
from models.staff import StaffRole, StaffUser
from notices import closures, messages, segments
from notices.segments import SegmentContext, SegmentError
from notices.settings import NoticeSettings

TOPICS = tuple(t.value for t in NoticeTopic)
SOURCE_PREFIX = "notice:"
CANCELLED = "cancelled"
TITLE_LIMIT = 200
LINK_LABEL_LIMIT = 40


class NoticeError(ValueError):
    """A notice that cannot be composed, approved or sent as asked; the message says why."""


# Composing


def new_notice(session: Session, *, title: str, bodies: Mapping[str, str],
               segment: Mapping[str, Any] | str, topic: str, now: datetime,
               kind: str = "staff", urgent: bool = False, send_at: datetime | None = None,
               link_url: str | None = None, link_label: str | None = None,
               created_by: StaffUser | None = None, source: str | None = None,
               center_id: int | None = None, internal: bool = False,
               titles: Mapping[str, str] | None = None) -> Notice:
    """Check and store a notice as a draft; raise NoticeError saying what is wrong.

    `bodies` holds the text per language (Japanese required); `titles` the title in languages
    other than Japanese (`title`), each optional.
    """
    title = (title or "").strip()
    clean = clean_texts(bodies)
    clean_titles = {lang: text for lang, text in clean_texts(titles or {}).items() if lang != "ja"}
    problem = (compose_problem(title, clean, topic, link_url, link_label)
               or titles_problem(clean_titles, clean))
    if problem:
        raise NoticeError(problem)
    try:
        parsed = segments.parse(segment, internal=internal)
        segments.check_codes(session, parsed)
    except SegmentError as err:
        raise NoticeError(str(err)) from None
    notice = Notice(title=title, titles=clean_titles or None, bodies=clean, segment=parsed,
                    topic=topic, kind=kind, urgent=urgent, send_at=send_at,
                    link_url=link_url or None, link_label=(link_label or None), created_at=now,
                    created_by_id=created_by.id if created_by else None, source=source,
                    center_id=center_id, status=NoticeStatus.DRAFT.value)
    session.add(notice)
    session.flush()
    return notice


def clean_texts(texts: Mapping[str, str | None]) -> dict[str, str]:
    """Keep the languages that have a text, stripped."""
    return {lang: text.strip() for lang, text in texts.items() if text and text.strip()}


def compose_problem(title: str, bodies: Mapping[str, str], topic: str, link_url: str | None,
                    link_label: str | None) -> str | None:
    """Return why these parts cannot make a notice, or None."""
    if not title:
        return "A title is required."
    if len(title) > TITLE_LIMIT:
        return f"The title is longer than {TITLE_LIMIT} characters."
    if not bodies.get("ja"):
        return "The Japanese text is required."
    unknown = sorted(set(bodies) - set(KNOWN))
    if unknown:
        return f"Unknown language {unknown[0]!r}; one of: {', '.join(KNOWN)}."
    for lang, text in bodies.items():
        if len(text) > messages.TEXT_LIMIT:
            return f"The {lang} text is longer than {messages.TEXT_LIMIT} characters."
    if topic not in TOPICS:
        return f"Unknown topic {topic!r}; one of: {', '.join(TOPICS)}."
    if link_url and not (link_url.startswith("https://") or link_url.startswith("http://")):
        return "The link must start with https://."
    if link_label and len(link_label) > LINK_LABEL_LIMIT:
        return f"The button label is longer than {LINK_LABEL_LIMIT} characters."
    if link_label and not link_url:
        return "A button label needs a link."
    return None


def titles_problem(titles: Mapping[str, str], bodies: Mapping[str, str]) -> str | None:
    """Return why the per-language titles do not fit the texts, or None."""
    for lang, text in titles.items():
        if lang not in bodies:
            return (f"The {lang} title has no {lang} text: write the text too, or clear the "
                    f"title.")
        if len(text) > TITLE_LIMIT:
            return f"The {lang} title is longer than {TITLE_LIMIT} characters."
    return None


def context(now: datetime, city: City) -> SegmentContext:
    return SegmentContext(now=now, city=city)


def reach(session: Session, notice: Notice, now: datetime, city: City) -> segments.Reach:
    """Return how many the notice reaches if it went now (after opt-outs of its topic)."""
    return segments.reach(session, notice.segment or {}, context(now, city), notice.topic)


def message_for(session: Session, notice: Notice, language: str) -> dict[str, Any]:
    """Return the Flex message the notice sends to readers of `language`."""
    language = messages.language_for(language, notice.bodies)
    image = session.get(NoticeImage, notice.id)
    title = messages.title_for(notice.title, notice.titles, language)
    return messages.flex(title, notice.bodies[language], language,
                         image_url=image.url if image else None, link_url=notice.link_url,
                         link_label=notice.link_label, urgent=notice.urgent)


@dataclass(frozen=True)
class LanguageReach:
    """How many reached residents read a language, and which text they get."""

    code: str  # the residents' language
    residents: int
    reads: str  # the language of the text they get: theirs, or Japanese when it is missing

    @property
    def falls_back(self) -> bool:
        """Their language is missing: they get the Japanese text."""
        return self.code != messages.DEFAULT_LANGUAGE and self.reads != self.code


def language_reach(bodies: Mapping[str, str], reach_languages: Iterable[tuple[str, int]]
                   ) -> list[LanguageReach]:
    """Read a reach's residents per language into who gets their own text and who Japanese."""
    return [LanguageReach(code, n, messages.language_for(code, dict(bodies)))
            for code, n in reach_languages]


def missing_languages(bodies: Mapping[str, str], spoken: Iterable[str]) -> list[str]:
    """The spoken languages the notice has no text for (their readers get Japanese)."""
    return [code for code in spoken if messages.falls_back(code, dict(bodies))]


# Approval and scope


def needs_approval(session: Session, notice: Notice, now: datetime, city: City,
                   settings: NoticeSettings) -> bool:
    """Tell whether the notice reaches more residents than one staff member may send to alone."""
    count = segments.count(session, notice.segment or {}, context(now, city), notice.topic)
    return count > settings.approval_threshold


def scope_problem(staff: StaffUser, notice: Notice, settings: NoticeSettings) -> str | None:
    """Return why this staff member may not send (or approve) this notice, or None."""
    if staff.role == StaffRole.ADMIN:
        return None
    segment = notice.segment or {}
    if staff.role == StaffRole.CENTER:
        own = {c.code for c in staff.centers}
        asked = set(segment.get("visited_centers") or [])
        if not asked or not asked <= own:
            return ("Center staff send only to families who used their centers: choose "
                    "visited centers among yours.")
        return None
    allowed: set[str] = set()
    for department in staff.departments:
        allowed.update((settings.department_topics or {}).get(department.code, ()))
    if notice.topic not in allowed:
        return "Your department does not send notices on this topic."
    return None


def request_approval(session: Session, notice: Notice, staff: StaffUser) -> None:
    """Ask a second staff member to approve the notice."""
    _move(session, notice, (NoticeStatus.DRAFT,), NoticeStatus.PENDING_APPROVAL,
          approval_requested_by_id=staff.id)


def approve(session: Session, notice: Notice, staff: StaffUser, settings: NoticeSettings) -> None:
    """Approve as a second staff member with the right to send for the notice's scope."""
    if staff.id in (notice.created_by_id, notice.approval_requested_by_id):
        raise NoticeError("A second staff member must approve this notice, not its author.")
    problem = scope_problem(staff, notice, settings)
    if problem:
        raise NoticeError(problem)
    _move(session, notice, (NoticeStatus.PENDING_APPROVAL,), NoticeStatus.APPROVED,
          approved_by_id=staff.id)


def reject(session: Session, notice: Notice, staff: StaffUser) -> None:
    """Send the notice back: it will not go."""
    _move(session, notice, (NoticeStatus.PENDING_APPROVAL,), NoticeStatus.REJECTED)


def _move(session: Session, notice: Notice, sources: Iterable[NoticeStatus],
          target: NoticeStatus, **values: Any) -> None:
    """Change the status only from `sources`, as one conditional UPDATE (two clicks race)."""
    result = session.execute(
        update(Notice).where(Notice.id == notice.id,
                             Notice.status.in_([s.value for s in sources]))
        .values(status=target.value, **values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.refresh(notice)
        raise NoticeError(f"This notice is {notice.status} and cannot become {target.value}.")
    session.refresh(notice)


# Releasing: now, later, or after the quiet hours


SENDABLE = (NoticeStatus.DRAFT, NoticeStatus.APPROVED)


def release(session: Session, notice: Notice, now: datetime, city: City,
            settings: NoticeSettings, send_at: datetime | None = None) -> str:
    """Queue the notice now, or schedule it (for `send_at`, or past the quiet hours).

    Returns "queued" or "scheduled". A draft over the approval threshold is refused.
    """
    if notice.status == NoticeStatus.DRAFT.value and notice.kind == "staff" and \
            needs_approval(session, notice, now, city, settings):
        raise NoticeError("This notice reaches more residents than you may send to alone: "
                          "request approval first.")
    when = send_at or notice.send_at or now
    if not notice.urgent:
        when = settings.quiet_hours_end(when, city)
    if when > now:
        _move(session, notice, SENDABLE, NoticeStatus.SCHEDULED, send_at=when)
        return "scheduled"
    queue(session, notice, now, city, sources=SENDABLE)
    return "queued"


def release_due(session: Session, now: datetime, city: City, settings: NoticeSettings) -> list[int]:
    """Queue the scheduled notices that are due (the clock's job); return their ids."""
    due = session.scalars(select(Notice).where(
        Notice.status == NoticeStatus.SCHEDULED.value, Notice.send_at <= now)
        .order_by(Notice.send_at, Notice.id)).all()
    queued = []
    for notice in due:
        if not notice.urgent and settings.in_quiet_hours(now, city):
            notice.send_at = settings.quiet_hours_end(now, city)
            continue
        if queue(session, notice, now, city, sources=(NoticeStatus.SCHEDULED,)):
            queued.append(notice.id)
    return queued


def queue(session: Session, notice: Notice, now: datetime, city: City,
          sources: Sequence[NoticeStatus] = SENDABLE) -> int:
    """Write the notice's outbox rows; return how many (0: another process queued it first).

    The status changes first, by a conditional UPDATE, so two clocks (or two clicks) write
    the outbox once. Recipients are evaluated now: ages are those at the moment of sending.
    """
    result = session.execute(
        update(Notice).where(Notice.id == notice.id,
                             Notice.status.in_([s.value for s in sources]))
        .values(status=NoticeStatus.QUEUED.value, queued_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return 0
    session.refresh(notice)
    segment = notice.segment or {}
    exempt = None
    if "center_closure" in segment:
        exempt = closures.exempt_ids(segment["center_closure"])
    query = segments.recipients(segment, context(now, city), notice.topic, exempt)
    sub = query.subquery()
    # Core rows, grouped by language in SQL order: no ORM objects and no per-row Python call,
    # so 100,000 recipients take a fraction of a second (bench/fanout.py).
    found = session.connection().execute(
        select(sub.c.line_user_id, sub.c.language, sub.c.household_id)
        .order_by(sub.c.language, sub.c.resident_id)).all()
    by_language: dict[str, list[str]] = defaultdict(list)
    for language, group in groupby(found, key=itemgetter(1)):
        by_language[messages.language_for(language, notice.bodies)].extend(
            map(itemgetter(0), group))
    households = set(map(itemgetter(2), found)) - {None}
    residents = len(found)
    rows = 0
    for language in sorted(by_language):
        message = message_for(session, notice, language)
        rows += len(enqueue(session, by_language[language], [message],
                            source=f"{SOURCE_PREFIX}{notice.id}:{language}"))
    notice.targeted_residents = residents
    notice.targeted_households = len(households)
    session.flush()
    return rows


def cancel(session: Session, notice: Notice, now: datetime) -> int:
    """Stop a notice: a scheduled one never goes, a queued one loses its unsent batches.

    Returns how many batches were stopped. A batch a worker is sending at this moment still
    arrives (LINE may already have it); the rest are marked cancelled.
    """
    if notice.status in (NoticeStatus.QUEUED.value,):
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.source.like(f"{SOURCE_PREFIX}{notice.id}:%"),
                   OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SKIPPED, last_error=CANCELLED)
            .execution_options(synchronize_session=False))
        notice.cancelled_at = now
        session.flush()
        return result.rowcount
    _move(session, notice, (NoticeStatus.DRAFT, NoticeStatus.PENDING_APPROVAL,
                            NoticeStatus.APPROVED, NoticeStatus.SCHEDULED),
          NoticeStatus.CANCELLED, cancelled_at=now)
    return 0


# For other features


def send_to_segment(session: Session, *, title: str, bodies: Mapping[str, str],
                    segment: Mapping[str, Any] | str, topic: str, now: datetime, city: City,
                    settings: NoticeSettings | None = None, urgent: bool = False,
                    source: str | None = None, link_url: str | None = None,
                    link_label: str | None = None, send_at: datetime | None = None,
                    titles: Mapping[str, str] | None = None) -> Notice:
    """Send a notice to a segment (no approval: the calling feature decided); return it.

    Runs in the caller's transaction. Not urgent: waits out the quiet hours.
    """
    notice = new_notice(session, title=title, bodies=bodies, segment=segment, topic=topic,
                        now=now, kind="feature", urgent=urgent, link_url=link_url,
                        link_label=link_label, source=source, internal=True, titles=titles)
    release(session, notice, now, city, settings or NoticeSettings(), send_at)
    return notice


def send_to_residents(session: Session, resident_ids: Sequence[int], *, title: str,
                      bodies: Mapping[str, str], topic: str, now: datetime, city: City,
                      settings: NoticeSettings | None = None, urgent: bool = False,
                      source: str | None = None, link_url: str | None = None,
                      link_label: str | None = None,
                      titles: Mapping[str, str] | None = None) -> Notice:
    """Send a notice to these residents (blocked, erased and opted-out ones are left out)."""
    segment = {"followers": True, "resident_ids": sorted({int(i) for i in resident_ids})}
    return send_to_segment(session, title=title, bodies=bodies, segment=segment, topic=topic,
                           now=now, city=city, settings=settings, urgent=urgent, source=source,
                           link_url=link_url, link_label=link_label, titles=titles)


# Figures


@dataclass
class BatchFigure:
    outbox_id: int
    language: str
    recipients: int
    status: str  # pending | sent | failed | cancelled | skipped
    skipped: int
    attempts: int
    error: str | None
    sent_at: datetime | None


@dataclass
class NoticeFigures:
    """Targeted, sent, failed (with LINE's reason), skipped (blocked), waiting, cancelled."""

    targeted: int
    households: int
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    waiting: int = 0
    cancelled: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    batches: list[BatchFigure] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"targeted": self.targeted, "households": self.households, "sent": self.sent,
                "failed": self.failed, "skipped": self.skipped, "waiting": self.waiting,
                "cancelled": self.cancelled, "reasons": self.reasons,
                "batches": len(self.batches)}


def figures(session: Session, notice: Notice) -> NoticeFigures:
    """Count what became of the notice's recipients, from its outbox rows (one query)."""
    size = func.json_array_length(OutboxMessage.recipients)
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.source, OutboxMessage.status, size,
               OutboxMessage.skipped, OutboxMessage.attempts, OutboxMessage.last_error,
               OutboxMessage.sent_at)
        .where(OutboxMessage.source.like(f"{SOURCE_PREFIX}{notice.id}:%"))
        .order_by(OutboxMessage.id)).all()
    result = NoticeFigures(targeted=notice.targeted_residents,
                           households=notice.targeted_households)
    for oid, source, status, n, skipped, attempts, error, sent_at in rows:
        n, skipped = int(n or 0), int(skipped or 0)
        kind = status.value if hasattr(status, "value") else str(status)
        if kind == OutboxStatus.SKIPPED and error == CANCELLED:
            kind = CANCELLED
        if kind == "sent":
            result.sent += n - skipped
            result.skipped += skipped
        elif kind == "failed":
            result.failed += n - skipped
            result.skipped += skipped
            reason = error or "unknown"
            result.reasons[reason] = result.reasons.get(reason, 0) + n - skipped
        elif kind == CANCELLED:
            result.cancelled += n
        elif kind == "skipped":
            result.skipped += n
        else:
            result.waiting += n
        result.batches.append(BatchFigure(oid, source.rsplit(":", 1)[-1], n, kind, skipped,
                                          attempts, error, sent_at))
    return result


# Residents: opt-outs, erasure, what they received


def opted_out(session: Session, resident: Resident) -> set[str]:
    """Return the topics the resident stopped."""
    return set(session.scalars(select(NoticeOptOut.topic)
                               .where(NoticeOptOut.resident_id == resident.id)))


def set_opt_out(session: Session, resident: Resident, topic: str, stop: bool) -> None:
    """Stop or resume a topic for the resident (idempotent)."""
    if topic not in TOPICS:
        raise NoticeError(f"Unknown topic {topic!r}.")
    if stop:
        session.execute(dialect_insert(session)(NoticeOptOut)
                        .values(resident_id=resident.id, topic=topic)
                        .on_conflict_do_nothing())
    else:
        session.execute(delete(NoticeOptOut).where(NoticeOptOut.resident_id == resident.id,
                                                   NoticeOptOut.topic == topic))


def forget_erased(resident: Resident, *, session: Session, household=None, **_: Any) -> None:
    """Listener of registration_erasing: the resident is never a recipient again, until they
    register anew; their opt-outs go with their data."""
    session.execute(delete(NoticeOptOut).where(NoticeOptOut.resident_id == resident.id))
    resident.registration_erased_at = utcnow()


def registered_again(resident: Resident, **_: Any) -> list:
    """Listener of resident_registered: a resident who registers again receives notices again."""
    resident.registration_erased_at = None
    return []


def received(session: Session, resident: Resident, limit: int = 10) -> list[tuple[Notice, datetime]]:
    """Return the last notices delivered to the resident, newest first, with when.

    Read from the outbox rows naming the resident, so it covers the outbox retention
    (OUTBOX_RETENTION_DAYS), after which a row keeps no recipients.
    """
    quoted = json.dumps(resident.line_user_id)
    pattern = "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(
        select(OutboxMessage.source, OutboxMessage.sent_at)
        .where(OutboxMessage.source.like(f"{SOURCE_PREFIX}%"),
               OutboxMessage.status == OutboxStatus.SENT,
               cast(OutboxMessage.recipients, Text).like(pattern, escape="\\"))
        .order_by(OutboxMessage.id.desc()).limit(limit * 4)).all()
    seen: dict[int, datetime] = {}
    for source, sent_at in rows:
        notice_id = int(source.split(":")[1])
        seen.setdefault(notice_id, sent_at)
    ids = list(seen)[:limit]
    notices = {n.id: n for n in session.scalars(select(Notice).where(Notice.id.in_(ids)))}
    return [(notices[i], seen[i]) for i in ids if i in notices]


# Closures


def close_center(session: Session, center: Center, day: date, reason: str, now: datetime,
                 city: City, *, staff: StaffUser | None = None) -> Notice:
    """Close a center for a day and alert the families it concerns at once (urgent)."""
    reason = (reason or "").strip()
    if not reason:
        raise NoticeError("Say why the center is closed: residents read the reason.")
    if day < city.today(now):
        raise NoticeError("That day has passed.")
    closure = checkin_services.close_for_day(session, center, day, reason, now)
    notice = _closure_notice(session, center, day, reason, now, city, "closure", staff)
    closure.notice_id = notice.id
    return notice


def reopen_center(session: Session, center: Center, day: date, now: datetime, city: City, *,
                  staff: StaffUser | None = None) -> Notice:
    """Open a closed day again and tell the same families, briefly."""
    closure = checkin_services.reopen_day(session, center, day, now)
    if closure is None:
        raise NoticeError("The center is not closed on that day.")
    return _closure_notice(session, center, day, None, closure.closed_at, city, "reopen", staff,
                           send_now=now)


def _closure_notice(session: Session, center: Center, day: date, reason: str | None,
                    moment: datetime, city: City, kind: str, staff: StaffUser | None,
                    send_now: datetime | None = None) -> Notice:
    from cityhall.i18n import format_day, translate
    from cityhall.languages import resident_languages

    # Every language the deployment speaks: the messages are the catalogue's. The reason is
    # the staff member's own words, as written.
    languages = tuple(resident_languages())
    if reason is not None:
        texts = {lang: (translate(lang, "%(center)s is closed on %(day)s", center=center.name(lang),
                                  day=format_day(lang, day)),
                        translate(lang, "%(center)s is closed on %(day)s.\nReason: %(reason)s",
                                  center=center.name(lang), day=format_day(lang, day),
                                  reason=reason))
                 for lang in languages}
    else:
        texts = {lang: (translate(lang, "%(center)s is open on %(day)s after all",
                                  center=center.name(lang), day=format_day(lang, day)),
                        translate(lang, "%(center)s is open on %(day)s after all. We are sorry "
                                  "for the trouble.", center=center.name(lang),
                                  day=format_day(lang, day)))
                 for lang in languages}
    title = texts["ja"][0]
    titles = {lang: pair[0] for lang, pair in texts.items() if lang != "ja"}
    bodies = {lang: pair[1] for lang, pair in texts.items()}
    segment = {"followers": True,
               "center_closure": closures.closure_value(center.id, day, moment)}
    notice = new_notice(session, title=title, titles=titles, bodies=bodies, segment=segment,
                        topic=NoticeTopic.CLOSURES.value, now=send_now or moment, kind=kind,
                        urgent=True, created_by=staff, center_id=center.id, internal=True)
    queue(session, notice, send_now or moment, city)
    return notice
