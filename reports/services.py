"""Citizen reports: plain functions of a Session and `now` (no Flask), used by the chat,
the staff pages, Open311 and the CLI.

Every status change a resident can see is written with its outbox rows in one transaction,
so the reporter and each follower get exactly one push per change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (Integer, String, Text, and_, case, cast, false, func, insert, literal,
                        or_, select, type_coerce, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages as line_messages
from bot import outbox
from cityhall.db import dialect_insert
from cityhall.i18n import spoken, translate
from cityhall.languages import place_name_language
from models import Department, Resident
from models.application import ReceiptCounter
from models.report import (OPEN_STATUSES, Report, ReportCategory, ReportChange, ReportFollower,
                           ReportPhoto, ReportSetting, ReportStatus)
from reports.geo import Boundary, box_around, distance_m

RECEIPT_PREFIX = "R"
DUPLICATE_RADIUS_M = 50.0
REOPEN_DAYS = 14
DISASTER = "disaster"
DISASTER_AREA = "disaster"  # the disaster menu's wide area (a menu key: bot.richmenu)


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return message


# code, Japanese, English, department, target days. Admins change the department and the days.
# The English names are msgids: residents read a shipped category in their language.
CATEGORIES = [
    ("road", "道路", N_("Road"), "roads", 14),
    ("park", "公園・遊具", N_("Park or playground"), "roads", 14),
    ("streetlight", "街灯", N_("Street light"), "roads", 7),
    ("tree", "倒木", N_("Fallen tree"), "roads", 3),
    ("dumping", "不法投棄", N_("Illegal dumping"), "citizens", 7),
    (DISASTER, "災害被害", N_("Disaster damage"), "roads", 1),
    ("other", "その他", N_("Other"), "citizens", 14),
]
SHIPPED_NAMES = {en for _code, _ja, en, _dept, _days in CATEGORIES}

STATUS_NAMES = {
    ReportStatus.RECEIVED: N_("Report received"),
    ReportStatus.IN_PROGRESS: N_("Work in progress"),
    ReportStatus.DONE: N_("Fixed (done)"),
    ReportStatus.NOT_OURS: N_("Not handled by the city"),
    ReportStatus.MERGED: N_("Merged into another report"),
}


class ReportRefused(ValueError):
    """A change the rules do not allow; the message says why (translated when shown)."""

    def __init__(self, message: str, **variables: object) -> None:
        super().__init__(message)
        self.message, self.variables = message, variables


# Categories and settings


def seed_categories(session: Session) -> None:
    """Create the categories that are missing; never change what admins edited."""
    departments = {d.code: d for d in session.scalars(select(Department))}
    for position, (code, ja, en, dept, days) in enumerate(CATEGORIES):
        if dept in departments:  # an upsert: two first uses at once create each row once
            session.execute(dialect_insert(session)(ReportCategory).values(
                code=code, name_ja=ja, name_en=en, target_days=days, active=True,
                department_id=departments[dept].id, position=position)
                .on_conflict_do_nothing(index_elements=["code"]))


def categories(session: Session, *, disaster_first: bool = False) -> list[ReportCategory]:
    """Return the active categories in their order (disaster damage first in disaster mode).

    The first read on a database without categories creates the default ones (the seed of
    the core cannot know a feature's data).
    """
    if session.scalar(select(func.count()).select_from(ReportCategory)) == 0:
        seed_categories(session)
    found = list(session.scalars(select(ReportCategory).where(ReportCategory.active)
                                 .order_by(ReportCategory.position, ReportCategory.id)))
    if disaster_first:
        found.sort(key=lambda c: c.code != DISASTER)
    return found


def category_by_code(session: Session, code: str) -> ReportCategory | None:
    return session.scalars(select(ReportCategory).where(ReportCategory.code == code)).first()


def disaster_mode(session: Session) -> bool:
    """Tell whether an admin switched disaster mode on."""
    return bool(session.scalar(select(ReportSetting.value).where(ReportSetting.key == DISASTER)))


def set_disaster_mode(session: Session, on: bool, now: datetime) -> None:
    """Switch disaster mode (an upsert, so two admins at once cannot collide)."""
    session.execute(dialect_insert(session)(ReportSetting).values(
        key=DISASTER, value=on, updated_at=now).on_conflict_do_update(
        index_elements=["key"], set_={"value": on, "updated_at": now}))


# Filing


def next_receipt_no(session: Session, year: int) -> str:
    """Take the next report number of the year, e.g. R-2026-000123 (the counter row is locked)."""
    bump = (update(ReceiptCounter)
            .where(ReceiptCounter.prefix == RECEIPT_PREFIX, ReceiptCounter.year == year)
            .values(last=ReceiptCounter.last + 1).returning(ReceiptCounter.last))
    number = session.execute(bump).scalar()
    if number is None:
        try:
            with session.begin_nested():
                session.execute(insert(ReceiptCounter).values(prefix=RECEIPT_PREFIX, year=year,
                                                              last=1))
            number = 1
        except IntegrityError:  # another transaction created it first
            number = session.execute(bump).scalar()
    return f"{RECEIPT_PREFIX}-{year}-{number:06d}"


@dataclass(frozen=True)
class NewReport:
    category: ReportCategory
    latitude: float
    longitude: float
    address: str | None = None
    comment: str | None = None
    contact_ok: bool = False
    details: dict[str, Any] | None = None
    photos: Sequence[tuple[bytes, int, int, str]] = ()  # cleaned (data, width, height, sha256)


def file_report(session: Session, new: NewReport, resident: Resident | None, now: datetime,
                *, boundary: Boundary, local_year: int, source: str = "line") -> Report:
    """Store a report under a new receipt number, routed to its category's department."""
    if not boundary.contains(new.latitude, new.longitude):
        raise ReportRefused(N_("This place is outside %(city)s."), city=boundary.name("ja"))
    report = Report(receipt_no=next_receipt_no(session, local_year), category_id=new.category.id,
                    department_id=new.category.department_id, status=ReportStatus.RECEIVED,
                    latitude=new.latitude, longitude=new.longitude, address=new.address,
                    district_code=boundary.district_of(new.latitude, new.longitude),
                    comment=new.comment, details=new.details or {}, contact_ok=new.contact_ok,
                    resident_id=resident.id if resident else None, source=source,
                    created_at=now, updated_at=now)
    for data, width, height, digest in new.photos:
        report.photos.append(ReportPhoto(kind="report", width=width, height=height, data=data,
                                         sha256=digest, created_at=now))
    report.changes.append(ReportChange(kind="created", status=ReportStatus.RECEIVED, at=now,
                                       changed_by="resident" if resident else source))
    session.add(report)
    session.flush()
    return report


def nearby_open(session: Session, category_id: int, lat: float, lon: float,
                radius_m: float = DUPLICATE_RADIUS_M) -> list[tuple[Report, float]]:
    """Return open reports of the category within the radius, nearest first, with distances."""
    low_lat, high_lat, low_lon, high_lon = box_around(lat, lon, radius_m)
    rows = session.scalars(select(Report).where(
        Report.category_id == category_id, Report.status.in_(OPEN_STATUSES),
        Report.latitude.between(low_lat, high_lat), Report.longitude.between(low_lon, high_lon)))
    found = [(r, distance_m(lat, lon, r.latitude, r.longitude)) for r in rows]
    return sorted([(r, d) for r, d in found if d <= radius_m], key=lambda pair: pair[1])


def follow(session: Session, report: Report, resident: Resident, now: datetime) -> bool:
    """Let a resident get a report's updates; False if they already do (an upsert)."""
    if report.resident_id == resident.id:
        return False
    result = session.execute(dialect_insert(session)(ReportFollower).values(
        report_id=report.id, resident_id=resident.id, created_at=now)
        .on_conflict_do_nothing(index_elements=["report_id", "resident_id"]))
    return bool(result.rowcount)


def kept(session: Session, report: Report) -> Report:
    """Follow merges to the report that is kept."""
    seen = {report.id}
    while report.duplicate_of_id is not None and report.duplicate_of_id not in seen:
        report = session.get(Report, report.duplicate_of_id)
        seen.add(report.id)
    return report


# What residents see


def audience(session: Session, report: Report) -> list[Resident]:
    """Return the reporter and the followers who can receive pushes (not blocked)."""
    ids = set(session.scalars(select(ReportFollower.resident_id)
                              .where(ReportFollower.report_id == report.id)))
    if report.resident_id is not None:
        ids.add(report.resident_id)
    if not ids:
        return []
    return list(session.scalars(select(Resident).where(Resident.id.in_(sorted(ids)),
                                                       Resident.blocked.is_(False))
                                .order_by(Resident.id)))


def category_label(category: ReportCategory, language: str | None) -> str:
    """A category's name as a resident reads it.

    A shipped category (its English name is a msgid) is read from the catalogues, so a
    Vietnamese or easy-Japanese reader sees their own word; a category a city added itself
    has only a Japanese and an English name, read like a place's (kanji readers: Japanese).
    """
    code = spoken(language)
    if code == "ja":
        return category.name_ja
    if category.name_en in SHIPPED_NAMES:
        return translate(code, category.name_en)
    return category.name_en if place_name_language(code) == "en" else category.name_ja


def category_name(report: Report, language: str) -> str:
    return category_label(report.category, language)


def reader_language(resident: Resident) -> str:
    """The language a resident reads pushes in (a language no longer spoken: Japanese)."""
    return spoken(resident.language or "ja")


def comment_for(comments: dict[str, str] | None, language: str) -> str | None:
    """The public comment in a resident's language, else the Japanese one (the fallback)."""
    comments = comments or {}
    return comments.get(language) or comments.get("ja")


def japanese_instead(session: Session, report: Report,
                     comments: dict[str, str] | None) -> dict[str, int]:
    """Language -> how many of the report's people get the Japanese comment because their
    language has no text (empty when there is no comment at all)."""
    comments = comments or {}
    if not comments.get("ja"):
        return {}
    missing: dict[str, int] = {}
    for resident in audience(session, report):
        language = reader_language(resident)
        if language != "ja" and not comments.get(language):
            missing[language] = missing.get(language, 0) + 1
    return missing


def audience_languages(session: Session, report: Report) -> dict[str, int]:
    """Language -> how many of the report's people (reporter and followers) read it."""
    found: dict[str, int] = {}
    for resident in audience(session, report):
        language = reader_language(resident)
        found[language] = found.get(language, 0) + 1
    return found


def update_text(report: Report, language: str, comment: str | None) -> str:
    """Say a report's new status in the resident's language, with the public comment."""
    t = lambda message, **v: translate(language, message, **v)  # noqa: E731
    lines = [t("Update on your report %(receipt)s (%(category)s): %(status)s",
               receipt=report.receipt_no, category=category_name(report, language),
               status=t(STATUS_NAMES[report.status]))]
    if report.status == ReportStatus.NOT_OURS and report.passed_to:
        lines.append(t("It was passed to: %(body)s", body=report.passed_to))
    if comment:
        lines.append(t("Comment from the city: %(comment)s", comment=comment))
    if report.status == ReportStatus.DONE:
        lines.append(t("Not fixed? You can reopen it within %(days)s days from \"My reports\".",
                       days=REOPEN_DAYS))
    return "\n".join(lines)


def push_update(session: Session, report: Report, comments: dict[str, str] | None,
                text_for=update_text, exclude: int | None = None) -> int:
    """Queue one push per language group to everyone who follows the report (but the resident
    `exclude`, who made the change and was answered); return how many.

    `comments` is the public comment per language ("ja" the fallback for any language
    without its own text).
    """
    groups: dict[str, list[str]] = {}
    for resident in audience(session, report):
        if resident.id == exclude:
            continue
        groups.setdefault(reader_language(resident), []).append(resident.line_user_id)
    for language, user_ids in groups.items():
        text = text_for(report, language, comment_for(comments, language))
        outbox.enqueue(session, user_ids, [line_messages.text(text)], source=f"report:{report.id}")
    return sum(len(ids) for ids in groups.values())


# Staff changes


def lock(session: Session, report_id: int) -> Report | None:
    """Load a report with its row locked until commit (PostgreSQL), so changes queue."""
    return session.scalars(select(Report).where(Report.id == report_id).with_for_update()
                           .execution_options(populate_existing=True)).first()


def change_status(session: Session, report: Report, status: ReportStatus, now: datetime, *,
                  by: str, public_comment: str | None = None, internal_note: str | None = None,
                  passed_to: str | None = None,
                  translations: dict[str, str] | None = None) -> bool:
    """Change the status (the caller locked the row); push it once. False if nothing changed.

    A note alone is recorded without a push; a public comment on the same status is pushed.
    `public_comment` is the Japanese text, which every resident whose language has no text
    in `translations` (language -> text) receives.
    """
    translations = {lang: text for lang, text in (translations or {}).items()
                    if text and lang != "ja"}
    if translations and not public_comment:
        raise ReportRefused(N_("Write the Japanese comment too: residents whose language has no "
                               "text get the Japanese one."))
    if status == ReportStatus.MERGED:
        raise ReportRefused(N_("Use \"merge\" to mark a duplicate."))
    if report.status == ReportStatus.MERGED:
        raise ReportRefused(N_("This report was merged into another one; change that one."))
    if status == ReportStatus.NOT_OURS and not passed_to:
        raise ReportRefused(N_("Say which body the report was passed to."))
    changed = status != report.status or bool(public_comment)
    if not changed and not internal_note:
        return False
    comments = {"ja": public_comment, **translations} if public_comment else {}
    detail: dict[str, Any] = {"from": report.status.value}
    fallback = japanese_instead(session, report, comments)
    if fallback:
        detail["japanese_instead"] = fallback
    report.changes.append(ReportChange(kind="status", status=status, public_comment=public_comment,
                                       public_comments=translations, internal_note=internal_note,
                                       changed_by=by, at=now, detail=detail))
    if not changed:
        return False
    report.status = status
    report.passed_to = passed_to if status == ReportStatus.NOT_OURS else report.passed_to
    report.public_comment = public_comment or report.public_comment
    report.updated_at = now
    report.closed_at = now if status not in OPEN_STATUSES else None
    session.flush()
    push_update(session, report, comments)
    return True


def pass_to_department(session: Session, report: Report, department: Department, now: datetime,
                       *, by: str, note: str | None = None) -> bool:
    """Give the report to another department (history entry; the caller audits it)."""
    if department.id == report.department_id:
        return False
    report.changes.append(ReportChange(kind="pass", internal_note=note, changed_by=by, at=now,
                                       detail={"from": report.department_id,
                                               "to": department.id}))
    report.department_id = department.id
    report.updated_at = now
    session.flush()
    return True


def merge(session: Session, duplicate: Report, keep: Report, now: datetime, *, by: str) -> int:
    """Mark a duplicate; its reporter and followers follow the kept one. Return people moved."""
    keep = kept(session, keep)
    if keep.id == duplicate.id:
        raise ReportRefused(N_("A report cannot be a duplicate of itself."))
    if duplicate.status == ReportStatus.MERGED:
        raise ReportRefused(N_("This report was already merged."))
    people = audience(session, duplicate)
    for resident in people:
        follow(session, keep, resident, now)
    moved_followers = session.scalars(select(ReportFollower).where(
        ReportFollower.report_id == duplicate.id)).all()
    for row in moved_followers:  # blocked followers too: they get updates if they come back
        session.execute(dialect_insert(session)(ReportFollower).values(
            report_id=keep.id, resident_id=row.resident_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["report_id", "resident_id"]))
    duplicate.changes.append(ReportChange(kind="merge", status=ReportStatus.MERGED, changed_by=by,
                                          at=now, detail={"into": keep.receipt_no}))
    keep.changes.append(ReportChange(kind="merge", changed_by=by, at=now,
                                     detail={"from": duplicate.receipt_no}))
    duplicate.status, duplicate.duplicate_of_id = ReportStatus.MERGED, keep.id
    duplicate.updated_at = duplicate.closed_at = now
    session.flush()

    def merged_text(report: Report, language: str, _comment: str | None) -> str:
        return translate(language, "Your report %(receipt)s is the same as report %(kept)s, "
                         "which is %(status)s. You will get its updates from now on.",
                         receipt=duplicate.receipt_no, kept=keep.receipt_no,
                         status=translate(language, STATUS_NAMES[keep.status]))

    push_update(session, duplicate, None, merged_text)
    return len(people)


def set_public(session: Session, report: Report, public: bool, now: datetime, *, by: str) -> None:
    """Approve (or withdraw) the report and its first photo for publication (Open311)."""
    if report.public != public:
        report.public = public
        report.updated_at = now
        report.changes.append(ReportChange(kind="publish", changed_by=by, at=now,
                                           detail={"public": public}))


def reopen(session: Session, report: Report, resident: Resident, reason: str, now: datetime,
           photo: tuple[bytes, int, int, str] | None = None) -> None:
    """Reopen a report marked done within 14 days (its reporter or a follower)."""
    if report.status != ReportStatus.DONE or report.closed_at is None:
        raise ReportRefused(N_("Only a report marked done can be reopened."))
    if now - report.closed_at > timedelta(days=REOPEN_DAYS):
        raise ReportRefused(N_("This report was closed more than %(days)s days ago. Please send "
                               "a new report."), days=REOPEN_DAYS)
    if resident.id not in {r.id for r in audience(session, report)} \
            and report.resident_id != resident.id:
        raise ReportRefused(N_("Only the reporter or a follower can reopen a report."))
    if photo is not None:
        data, width, height, digest = photo
        report.photos.append(ReportPhoto(kind="reopen", width=width, height=height, data=data,
                                         sha256=digest, created_at=now))
    report.changes.append(ReportChange(kind="reopen", status=ReportStatus.RECEIVED,
                                       public_comment=reason, changed_by="resident", at=now))
    report.status, report.closed_at, report.updated_at = ReportStatus.RECEIVED, None, now
    session.flush()
    # A public status change: the reporter and the other followers hear of it (the reason is
    # the resident's own words, so it is not passed on).
    push_update(session, report, None, reopened_text, exclude=resident.id)


def reopened_text(report: Report, language: str, comment: str | None) -> str:
    return update_text(report, language, comment) + "\n" + translate(
        language, "A resident said the problem is still there, so the report was reopened.")


def my_reports(session: Session, resident: Resident) -> list[tuple[Report, bool]]:
    """Return (report, mine) for the resident's own and followed reports, newest first."""
    followed = select(ReportFollower.report_id).where(ReportFollower.resident_id == resident.id)
    rows = session.scalars(select(Report).where(or_(Report.resident_id == resident.id,
                                                    Report.id.in_(followed)))
                           .order_by(Report.created_at.desc(), Report.id.desc()).limit(10))
    return [(r, r.resident_id == resident.id) for r in rows]


def can_reopen(report: Report, now: datetime) -> bool:
    return (report.status == ReportStatus.DONE and report.closed_at is not None
            and now - report.closed_at <= timedelta(days=REOPEN_DAYS))


# Staff lists, overdue, exports


def overdue(report: Report, category: ReportCategory, now: datetime) -> bool:
    """Tell whether an open report is past its category's target days."""
    return report.status in OPEN_STATUSES and \
        now - report.created_at > timedelta(days=category.target_days)


@dataclass(frozen=True)
class Filters:
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


def filtered(query, f: Filters):
    """Apply the map's filters to a select over Report."""
    if f.categories:
        query = query.where(Report.category_id.in_(
            select(ReportCategory.id).where(ReportCategory.code.in_(f.categories))))
    if f.statuses:
        query = query.where(Report.status.in_([ReportStatus(s) for s in f.statuses]))
    if f.departments:
        query = query.where(Report.department_id.in_(
            select(Department.id).where(Department.code.in_(f.departments))))
    if f.since is not None:
        query = query.where(Report.created_at >= f.since)
    if f.until is not None:
        query = query.where(Report.created_at < f.until)
    return query


# The map's rows: id, latitude and longitude in millionths of a degree (integers: shorter
# JSON, no float formatting; 0.1 m), status, category code, overdue (1/0), receipt number.
MAP_FIELDS = ["id", "lat_e6", "lon_e6", "status", "category", "overdue", "receipt"]


def map_body(session: Session, scope, f: Filters, now: datetime) -> bytes:
    """Return the map's JSON: {"fields": MAP_FIELDS, "reports": [[...], ...]}, ordered by id.

    The database writes the rows' JSON itself (SQLite's json_group_array, PostgreSQL's
    json_agg) from one query of plain columns, the overdue test and the rounding done there
    too: no row object is built in Python for 50,000 markers (that was two thirds of the time).
    """
    late = late_clause(session, now)
    rows = filtered(select(Report.id, _micro(Report.latitude), _micro(Report.longitude),
                           type_coerce(Report.status, String), ReportCategory.code,
                           case((late, 1), else_=0), Report.receipt_no)
                    .join(ReportCategory, ReportCategory.id == Report.category_id)
                    .where(scope), f).order_by(Report.id).subquery()
    columns = list(rows.c)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        # string_agg of each row's array: json_agg's own layout was measured slower.
        agg = func.concat("[", func.string_agg(
            cast(func.json_build_array(*columns), Text),
            aggregate_order_by(literal(","), columns[0])), "]")
    else:  # SQLite aggregates an ordered subquery in its order
        agg = cast(func.json_group_array(func.json_array(*columns)), Text)
    text = session.connection().execute(select(agg).select_from(rows)).scalar()
    return (b'{"fields":' + json.dumps(MAP_FIELDS, separators=(",", ":")).encode()
            + b',"reports":' + (text or "[]").encode() + b"}")


def _micro(column):
    """A coordinate in millionths of a degree, as an integer (both backends round half away)."""
    return cast(func.round(column * 1_000_000), Integer)


def map_version(session: Session, scope, f: Filters) -> tuple[Any, ...]:
    """Return what the map's rows depend on, cheaply: count, highest id and latest change of
    the reports in view, and every category's target days (an admin may change them)."""
    counted = filtered(select(func.count(), func.max(Report.id), func.max(Report.updated_at))
                       .select_from(Report).where(scope), f)
    days = tuple(tuple(row) for row in session.execute(
        select(ReportCategory.id, ReportCategory.target_days).order_by(ReportCategory.id)))
    return (*session.connection().execute(counted).one(), days)


def late_clause(session: Session, now: datetime):
    """Return the condition "open and past its category's target days" (one CASE per category)."""
    cutoffs = [(Report.category_id == cid, now - timedelta(days=days)) for cid, days in
               session.execute(select(ReportCategory.id, ReportCategory.target_days))]
    if not cutoffs:
        return false()
    return and_(Report.status.in_(OPEN_STATUSES), Report.created_at < case(*cutoffs))


def _open_counts(session: Session, scope, now: datetime) -> dict[int, tuple[int, int]]:
    """Return category id -> (overdue, open) over the open reports in scope (one query)."""
    late = late_clause(session, now)
    rows = session.execute(select(Report.category_id, func.count(),
                                  func.sum(case((late, 1), else_=0)))
                           .where(scope, Report.status.in_(OPEN_STATUSES))
                           .group_by(Report.category_id))
    return {cid: (int(n_late or 0), int(n_open)) for cid, n_open, n_late in rows}


def overdue_by_category(session: Session, scope, now: datetime) -> list[tuple[ReportCategory, int, int]]:
    """Return (category, overdue, open) for every active category, in the menu's order."""
    counts = _open_counts(session, scope, now)
    return [(c, *counts.get(c.id, (0, 0))) for c in categories(session)]


def overdue_count(session: Session, scope, now: datetime) -> int:
    """Count open reports past their category's target days (for the dashboard)."""
    return sum(late for late, _open in _open_counts(session, scope, now).values())


def counts_by_district(session: Session, scope, since: datetime) -> dict[str, dict[str, int]]:
    """Count the reports since a moment by district and status (disaster mode's dashboard)."""
    rows = session.execute(select(Report.district_code, Report.status, func.count())
                           .where(scope, Report.created_at >= since)
                           .group_by(Report.district_code, Report.status))
    result: dict[str, dict[str, int]] = {}
    for district, status, n in rows:
        result.setdefault(district or "", {})[status.value] = n
    return result


# Exports never carry the reporter, the contact consent, the comment's author or notes.
EXPORT_FIELDS = ["receipt_no", "category", "department", "status", "latitude", "longitude",
                 "address", "district", "created_at", "updated_at", "closed_at", "overdue"]


def export_rows(session: Session, reports: Iterable[Report], now: datetime) -> list[dict[str, Any]]:
    departments = {d.id: d.code for d in session.scalars(select(Department))}
    return [{"receipt_no": r.receipt_no, "category": r.category.code,
             "department": departments.get(r.department_id), "status": r.status.value,
             "latitude": r.latitude, "longitude": r.longitude, "address": r.address or "",
             "district": r.district_code or "", "created_at": r.created_at.isoformat(),
             "updated_at": r.updated_at.isoformat(),
             "closed_at": r.closed_at.isoformat() if r.closed_at else "",
             "overdue": overdue(r, r.category, now)} for r in reports]


def to_geojson(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a FeatureCollection of points (WGS84, [longitude, latitude])."""
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "id": row["receipt_no"],
                          "geometry": {"type": "Point",
                                       "coordinates": [row["longitude"], row["latitude"]]},
                          "properties": {k: v for k, v in row.items()
                                         if k not in ("latitude", "longitude")}}
                         for row in rows]}


def erase_resident(resident: Resident, *, session: Session, **_: object) -> None:
    """On residents' registration_erasing: the reports stay (the city must fix the road), but
    they no longer name the resident, who follows nothing and has no draft any more."""
    from models.report import ReportDraft, ReportDraftPhoto

    session.execute(update(Report).where(Report.resident_id == resident.id)
                    .values(resident_id=None, contact_ok=False)
                    .execution_options(synchronize_session=False))
    for model in (ReportFollower, ReportDraft, ReportDraftPhoto):
        session.execute(model.__table__.delete().where(model.resident_id == resident.id))
