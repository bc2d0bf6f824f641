"""Applications: store a submitted form under a receipt number; staff change its status.

The staff inbox calls `list_submissions`, `get_submission`, `answer_rows`, `care_notes` and
`change_status` with a `Scope` (which departments and centers the staff member sees); every
status change of a submission linked to a resident queues exactly one push to them in the
same transaction (transactional outbox).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, false, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.flows.fields import AnswerView, kind_of
from bot.flows.registry import forms
from bot.flows.schema import Field, Form
from bot.outbox import enqueue
from cityhall.city import City
from cityhall.i18n import translate
from cityhall.languages import KNOWN
from models import Center, Resident
from residents import cards
from models.application import ReceiptCounter, StatusChange, Submission, SubmissionStatus, Upload
from models.conversation import Conversation
from models.household import Child, Household
from models.survey import SurveyAnswer

S = SubmissionStatus


def N_(message: str) -> str:
    """Mark a message for the catalogue; it is translated where it is shown."""
    return message


# Which status may follow which; "returned" asks the resident to fix something, then review again.
TRANSITIONS: dict[SubmissionStatus, set[SubmissionStatus]] = {
    S.RECEIVED: {S.IN_REVIEW, S.APPROVED, S.RETURNED, S.DONE},
    S.IN_REVIEW: {S.APPROVED, S.RETURNED, S.DONE},
    S.APPROVED: {S.DONE, S.RETURNED},
    S.RETURNED: {S.IN_REVIEW, S.DONE},
    S.DONE: set(),
}
STATUS_LABELS = {S.RECEIVED: N_("Received"), S.IN_REVIEW: N_("In review"),
                 S.APPROVED: N_("Approved"), S.RETURNED: N_("Returned"), S.DONE: N_("Done")}


class StatusError(ValueError):
    """A status change that is not allowed; the message says why."""


@dataclass(frozen=True)
class Scope:
    """Which submissions a staff member sees: their departments' and those routed to their centers.

    Each is a set of codes, or None for all (admins). The default sees nothing, so a
    forgotten scope shows nothing rather than everything.
    """

    departments: frozenset[str] | None = field(default=frozenset())
    centers: frozenset[str] | None = field(default=frozenset())

    def where(self) -> ColumnElement[bool]:
        """Return the WHERE clause: a submission of a department OR routed to a center in scope."""
        if self.departments is None or self.centers is None:
            return true()
        clauses = []
        if self.departments:
            clauses.append(Submission.department_code.in_(sorted(self.departments)))
        if self.centers:
            clauses.append(Submission.center_code.in_(sorted(self.centers)))
        return or_(*clauses) if clauses else false()

    def sees(self, submission: Submission) -> bool:
        """Tell whether this scope includes a submission (the same rule as `where`)."""
        if self.departments is None or self.centers is None:
            return True
        return (submission.department_code in self.departments
                or (submission.center_code is not None and submission.center_code in self.centers))

    def sees_form(self, form: Form) -> bool:
        """Tell whether submissions of this form can be in scope (for the inbox's form filter)."""
        if self.departments is None or self.centers is None:
            return True
        return form.department in self.departments or bool(form.route_to_center and self.centers)


def status_label(status: SubmissionStatus, language: str) -> str:
    """Name a status in the language."""
    return translate(language, STATUS_LABELS[status])


def next_receipt_no(session: Session, prefix: str, year: int) -> str:
    """Take the next number of the (prefix, year) counter, e.g. A-2026-000123."""
    return reserve_receipt_nos(session, prefix, year, 1)[0]


def reserve_receipt_nos(session: Session, prefix: str, year: int, count: int) -> list[str]:
    """Take the next `count` numbers of the (prefix, year) counter in one update.

    The UPDATE holds the counter row's lock until commit, so concurrent submissions queue
    for it and never share a number; the first of a year creates the row.
    """
    bump = (update(ReceiptCounter)
            .where(ReceiptCounter.prefix == prefix, ReceiptCounter.year == year)
            .values(last=ReceiptCounter.last + count).returning(ReceiptCounter.last))
    last = session.execute(bump).scalar()
    if last is None:
        try:
            with session.begin_nested():
                session.execute(insert(ReceiptCounter).values(prefix=prefix, year=year,
                                                              last=count))
            last = count
        except IntegrityError:  # another transaction created it first
            last = session.execute(bump).scalar()
    return [f"{prefix}-{year}-{number:06d}" for number in range(last - count + 1, last + 1)]


def submit_application(session: Session, form: Form, resident: Resident,
                       household_id: int | None, answers: dict[str, Any],
                       now: datetime, *, city: City) -> Submission:
    """Store a submission with a new receipt number, linked to the resident who sent it."""
    if form.anonymous:
        # Sequential ids and receipt numbers would line anonymous answers up with the others.
        raise ValueError(f"{form.id} is anonymous: store it with residents.surveys")
    local = city.local(now)
    submission = Submission(
        receipt_no=next_receipt_no(session, form.receipt_prefix, local.year), form_id=form.id,
        department_code=form.department, answers=answers, language=resident.language,
        status=S.RECEIVED, submitted_at=now, updated_at=now, resident_id=resident.id,
        household_id=household_id, center_code=routed_center(session, form, answers))
    session.add(submission)
    session.flush()
    return submission


def routed_center(session: Session, form: Form, answers: dict[str, Any]) -> str | None:
    """Return the code of the center the resident chose, when the form routes to one."""
    if not form.route_to_center:
        return None
    code = answers.get(form.route_to_center)
    if not isinstance(code, str):
        return None  # skipped or not asked: the department alone sees it
    return session.scalar(select(Center.code).where(Center.code == code))


def list_submissions(session: Session, scope: Scope,
                     status: SubmissionStatus | None = None, form_id: str | None = None,
                     limit: int = 100, offset: int = 0) -> list[Submission]:
    """Return the submissions in scope, newest first, optionally by status or form."""
    query = select(Submission).where(scope.where())
    if status is not None:
        query = query.where(Submission.status == status)
    if form_id is not None:
        query = query.where(Submission.form_id == form_id)
    query = query.order_by(Submission.submitted_at.desc(), Submission.id.desc())
    return list(session.scalars(query.limit(limit).offset(offset)))


def count_by_status(session: Session, scope: Scope) -> dict[str, int]:
    """Count the submissions in scope per status (for the inbox tabs)."""
    rows = session.execute(select(Submission.status, func.count())
                           .where(scope.where()).group_by(Submission.status))
    return {str(status): n for status, n in rows}


def get_submission(session: Session, submission_id: int,
                   scope: Scope | None = None) -> Submission | None:
    """Return one submission, only if it is in the scope (when given)."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        return None
    if scope is not None and not scope.sees(submission):
        return None
    return submission


@dataclass(frozen=True)
class AnswerRow:
    label: str
    value: str
    upload_id: int | None = None


def answer_rows(session: Session, submission: Submission | SurveyAnswer,
                language: str = "ja") -> list[AnswerRow]:
    """Return a submission's answers as labelled lines, in the form's order, for staff."""
    form = forms().get(submission.form_id)
    if form is None:
        return [AnswerRow(k, str(v)) for k, v in submission.answers.items()]
    rows = []
    for f in form.fields:
        value = submission.answers.get(f.id)
        if kind_of(f).container:
            for i, item in enumerate(value or []):
                rows += [_row(session, sub, item.get(sub.id), language,
                              f"{f.label[language]} {i + 1} ") for sub in f.fields if sub.id in item]
        elif f.id in submission.answers:
            rows.append(_row(session, f, value, language))
    return rows


def _row(session: Session, f: Field, value: Any, language: str, prefix: str = "") -> AnswerRow:
    label = prefix + f.label.get(language, f.label["ja"])
    if value is None:
        return AnswerRow(label, "—")
    kind = kind_of(f)
    return AnswerRow(label, kind.detail(f, value, AnswerView(session, language)),
                     upload_id=kind.upload_id(value))


@dataclass(frozen=True)
class CareNote:
    child: str
    notes: str


def care_notes(session: Session, submission: Submission) -> list[CareNote]:
    """Return the allergy and care notes of the children a submission is about, as registered now.

    Read from the household's current record, not the answers: a note added after sending
    still reaches the staff who look after the child.
    """
    if submission.household_id is None:
        return []
    form = forms().get(submission.form_id)
    ids = _child_ids(form.fields, submission.answers) if form else []
    if not ids:
        return []
    children = session.scalars(select(Child).where(
        Child.id.in_(ids), Child.household_id == submission.household_id))
    by_id = {c.id: c for c in children}
    return [CareNote(by_id[i].name, by_id[i].notes.strip()) for i in dict.fromkeys(ids)
            if i in by_id and by_id[i].notes and by_id[i].notes.strip()]


def _child_ids(fields: tuple[Field, ...], answers: dict[str, Any]) -> list[int]:
    """Collect the child ids answered in child fields, in groups too."""
    ids: list[int] = []
    for f in fields:
        value = answers.get(f.id)
        if f.type == "child" and isinstance(value, dict) and isinstance(value.get("id"), int):
            ids.append(value["id"])
        elif f.fields and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    ids += _child_ids(f.fields, item)
    return ids


def recipient(session: Session, submission: Submission) -> Resident | None:
    """Return the resident a status change is pushed to; None when anonymous or erased."""
    return session.get(Resident, submission.resident_id) if submission.resident_id else None


def change_status(session: Session, submission: Submission, status: SubmissionStatus,
                  comment: str | None, now: datetime, changed_by: str | None = None,
                  comments: Mapping[str, str | None] | None = None) -> StatusChange:
    """Move a submission to a new status and queue one push telling the resident.

    `comment` is the message in Japanese; `comments` the same message in other languages,
    each optional. The resident reads theirs when it is there, else the Japanese one.
    """
    status = SubmissionStatus(status)
    comment = (comment or "").strip() or None
    translated = {lang: text.strip() for lang, text in (comments or {}).items()
                  if lang != "ja" and text and text.strip()}
    if status not in TRANSITIONS[submission.status]:
        raise StatusError(f"cannot change {submission.status.value} to {status.value}")
    if status == S.RETURNED and not comment:
        raise StatusError("a returned application needs a reason for the resident")
    unknown = sorted(set(translated) - set(KNOWN))
    if unknown:
        raise StatusError(f"unknown language {unknown[0]}")
    if translated and not comment:
        raise StatusError("write the message in Japanese too: residents whose language has "
                          "no message read the Japanese one")
    change = StatusChange(submission=submission, status=status, comment=comment,
                          comments=translated or None, changed_by=changed_by, changed_at=now)
    submission.status, submission.status_comment, submission.updated_at = status, comment, now
    session.add(change)
    session.flush()
    _notify(session, submission, change)
    return change


def _notify(session: Session, submission: Submission, change: StatusChange) -> None:
    """Queue the push in this transaction: the change and its message commit together."""
    resident = recipient(session, submission)
    if resident is None:
        return  # anonymous or erased: nobody to tell
    enqueue(session, [resident.line_user_id], [status_message(submission, change, resident.language)],
            source=f"submission-status:{change.id}")


def comment_for(change: StatusChange, language: str | None) -> str | None:
    """The staff message a reader of `language` gets: theirs when written, else the Japanese."""
    return (change.comments or {}).get(language or "ja") or change.comment


def comment_falls_back(change: StatusChange, language: str | None) -> bool:
    """Tell whether a reader of `language` gets the Japanese message because theirs is missing."""
    return bool(change.comment) and (language or "ja") != "ja" and \
        (language or "ja") not in (change.comments or {})


def status_message(submission: Submission, change: StatusChange, language: str) -> dict[str, Any]:
    """Build the card that tells a resident their application's new status."""
    form = forms().get(submission.form_id)
    title = (form.title.get(language) or form.title["ja"]) if form else submission.form_id
    label = status_label(change.status, language)
    comment = comment_for(change, language)
    lines = [translate(language, "Your application \"%(title)s\" (receipt %(receipt)s) is now: "
                                 "%(status)s", title=title, receipt=submission.receipt_no,
                       status=label)]
    if comment:
        lines.append(translate(language, "Message from the city: %(comment)s", comment=comment))

    def t(message: str, **variables: object) -> str:
        return translate(language, message, **variables)
    return cards.status(t, title=title, receipt_no=submission.receipt_no,
                        status_value=change.status.value, status_label=label,
                        comment=comment, alt_text="\n".join(lines))


# Erasure


def upload_ids(value: Any) -> set[int]:
    """Return the ids of every photo stored in answers (a submission's or a conversation's)."""
    if isinstance(value, dict):
        found = {value["upload_id"]} if isinstance(value.get("upload_id"), int) else set()
        return found.union(*(upload_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(upload_ids(v) for v in value))
    return set()


def erase(session: Session, resident: Resident, household: Household | None) -> None:
    """Blank the resident's submissions and staff comments, and delete their photos.

    A submission keeps its form, department, status and dates for statistics; its answers,
    the comments staff sent and the link to a person go. Photos go whole (rows and bytes):
    the resident's own, and any their submissions or unfinished forms refer to.
    """
    condition = Submission.resident_id == resident.id
    if household is not None:
        condition = condition | (Submission.household_id == household.id)
    submissions = list(session.scalars(select(Submission).where(condition)))
    drafts = session.scalars(select(Conversation.answers)
                             .where(Conversation.resident_id == resident.id))
    photos = upload_ids([s.answers for s in submissions]) | upload_ids(list(drafts))
    ids = [s.id for s in submissions]
    session.execute(update(StatusChange).where(StatusChange.submission_id.in_(ids))
                    .values(comment=None, comments=None)
                    .execution_options(synchronize_session=False))
    session.execute(update(Submission).where(Submission.id.in_(ids))
                    .values(answers={}, status_comment=None, resident_id=None, household_id=None)
                    .execution_options(synchronize_session=False))
    session.execute(delete(Upload)
                    .where((Upload.resident_id == resident.id) | Upload.id.in_(photos))
                    .execution_options(synchronize_session=False))
    for submission in submissions:
        session.expire(submission)
