"""Residents' demo data: synthetic households, partners, applications in every status, surveys.

Run by `cityhall demo-data` through `Feature.demo_data` (cityhall/demodata.py). Every name is
invented from syllables, phone numbers are 090-0xxx-xxxx, e-mail addresses are at example.jp,
and demo LINE user ids are "U" followed by twenty zeros. The rows are ordinary rows: staff
see them everywhere and erasure removes them like any other registration.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.flows.registry import FormRegistry, forms
from bot.flows.schema import Form
from cityhall.demodata import DemoContext, DemoDataError
from cityhall.languages import language_names
from models import Center, District, Resident
from models.application import StatusChange, Submission, SubmissionStatus
from models.household import Child, Guardian, Household
from models.survey import SurveyAnswer
from residents.applications import reserve_receipt_nos

S = SubmissionStatus
DEMO_USER_PREFIX = "U" + "0" * 20  # then 12 hex digits: no LINE account has such an id
OLDEST_DAYS = 7 * 365 - 10  # children from newborn to 6 years old
CARE_NOTES = ["卵アレルギー", "乳アレルギー", "小麦アレルギー", "ピーナッツアレルギー（重度）",
              "ぜんそく（吸入薬を持参）", "人見知りが強いので最初はそばにいます"]
RETURN_REASONS = {"childcare": "ご希望の日は定員に達しました。別の日でもう一度お申し込みください。",
                  "consultation": "ご希望の日に相談員の都合がつきません。別の日をお知らせください。"}
APPROVAL_NOTES = {"childcare": "当日は着替えと飲み物をお持ちください。",
                  "consultation": "当日は子育て支援課の窓口にお越しください。"}
STAFF = "demo-staff"


@dataclass
class DemoHousehold:
    """One generated family before it is stored; ids are filled in on insert."""

    district: str
    language: str
    joined: datetime
    family: tuple[str, str]
    guardians: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)
    id: int = 0
    resident_ids: list[int] = field(default_factory=list)
    child_ids: list[int] = field(default_factory=list)


def demo_data(ctx: DemoContext) -> None:
    """Make the households, then their applications and the anonymous survey answers."""
    districts = list(ctx.session.scalars(select(District).order_by(District.id)))
    centers = list(ctx.session.scalars(select(Center.code).where(Center.active)
                                       .order_by(Center.code)))
    if not districts or not centers:
        raise DemoDataError("no districts or centers yet: run `cityhall seed` first")
    with_center = set(ctx.session.scalars(select(Center.district_id)))
    weights = [0.3 if d.code == "other" else 1.8 if d.id in with_center else 1.0
               for d in districts]
    families = [make_household(ctx, n, pick_district(ctx, districts, weights, n))
                for n in range(ctx.households)]
    store_households(ctx, families)
    partners = sum(len(f.guardians) - 1 for f in families)
    children = sum(len(f.children) for f in families)
    ctx.note(f"{len(families)} households ({partners} with a partner), {children} children, "
             f"{len(districts)} districts")
    known = forms()
    submitted = make_applications(ctx, families, centers, known)
    ctx.note(f"{submitted} applications in every status")
    survey = known.get("survey")
    if survey is not None and survey.anonymous:
        ctx.note(f"{make_survey_answers(ctx, survey)} anonymous survey answers")


# Households


def pick_district(ctx: DemoContext, districts: list[District], weights: list[float],
                  n: int) -> District:
    """Give the first families one district each, so every district is used; then by weight
    (districts with a center are busier, "other", outside the city, is rare)."""
    if n < len(districts):
        return districts[n]
    return ctx.rng.choices(districts, weights)[0]


def pick_language(ctx: DemoContext) -> str:
    """Mostly Japanese; the rest spread over the other resident languages."""
    others = [code for code in language_names() if code != "ja"]
    if not others or ctx.rng.random() < 0.88:
        return "ja"
    return ctx.rng.choice(others)


def make_household(ctx: DemoContext, n: int, district: District) -> DemoHousehold:
    """Invent one family: one or two guardians, one to three children aged 0 to 6."""
    rng = ctx.rng
    births = [ctx.today - timedelta(days=rng.randint(3, OLDEST_DAYS))]
    for _ in range(rng.choices((0, 1, 2), (0.5, 0.38, 0.12))[0]):
        older = births[-1] - timedelta(days=rng.randint(540, 1400))
        if (ctx.today - older).days <= OLDEST_DAYS:
            births.append(older)
    joined = join_time(ctx, min(births))
    family = ctx.names.family()
    language = pick_language(ctx)
    home = DemoHousehold(district.code, language, joined, family)
    home.guardians.append(guardian_row(ctx, home, district, 2 * n, joined))
    if rng.random() < 0.25:  # a partner joined with an invite code some days later
        later = min(joined + timedelta(days=rng.randint(1, 60)), ctx.now - timedelta(minutes=5))
        home.guardians.append(guardian_row(ctx, home, district, 2 * n + 1, later))
    for birth in sorted(births):
        person = ctx.names.person(family, latin_first=language != "ja")
        added = ctx.at(birth, 12) + timedelta(days=14)  # a younger child is added in My data
        home.children.append({
            "name": person.name, "kana": person.kana, "birth_date": birth,
            "sex": rng.choices(("girl", "boy", None), (0.49, 0.49, 0.02))[0],
            "notes": rng.choice(CARE_NOTES) if rng.random() < 0.1 else None,
            "created_at": max(joined, min(added, ctx.now))})
    return home


def join_time(ctx: DemoContext, oldest_birth: date) -> datetime:
    """When the family registered: about half before the period, the rest during it."""
    rng = ctx.rng
    period = (ctx.today - ctx.first_day).days
    if rng.random() < 0.45:
        day = ctx.first_day - timedelta(days=rng.randint(1, 720))
    else:
        day = ctx.first_day + timedelta(days=rng.randint(0, max(period - 1, 0)))
    day = max(day, oldest_birth + timedelta(days=rng.randint(14, 90)))
    moment = ctx.at(min(day, ctx.today), rng.randint(8, 20), rng.randint(0, 59))
    return min(moment, ctx.now - timedelta(minutes=30))


def guardian_row(ctx: DemoContext, home: DemoHousehold, district: District, number: int,
                 at: datetime) -> dict[str, Any]:
    """Invent a guardian's own data; the phone number is unique and obviously not real."""
    rng = ctx.rng
    person = ctx.names.person(home.family, latin_first=home.language != "ja")
    return {"name": person.name, "kana": person.kana, "phone": f"0900{number:07d}",
            "postal_code": f"505-00{rng.randint(41, 59)}",
            "address": f"{district.name_ja}{rng.randint(1, 9)}-{rng.randint(1, 30)}-"
                       f"{rng.randint(1, 20)}",
            "district_code": district.code, "consented_at": at, "created_at": at,
            "updated_at": at, "display_name": person.latin if home.language != "ja"
            else person.name}


def store_households(ctx: DemoContext, families: list[DemoHousehold]) -> None:
    """Insert residents, households, guardians and children, a few statements per table."""
    residents = [{"line_user_id": f"{DEMO_USER_PREFIX}{n:012x}",
                  "display_name": g["display_name"], "language": f.language,
                  "language_chosen": True, "blocked": False,
                  "followed_at": g["created_at"] - timedelta(minutes=10),
                  "created_at": g["created_at"] - timedelta(minutes=10),
                  "updated_at": g["created_at"]}
                 for n, (f, g) in enumerate((f, g) for f in families for g in f.guardians)]
    resident_ids = iter(ctx.insert(Resident, residents, with_ids=True))
    household_ids = ctx.insert(Household, [{"created_at": f.joined} for f in families],
                               with_ids=True)
    guardians, children = [], []
    for family, household_id in zip(families, household_ids):
        family.id = household_id
        for guardian in family.guardians:
            family.resident_ids.append(next(resident_ids))
            values = {k: v for k, v in guardian.items() if k != "display_name"}
            guardians.append(values | {"resident_id": family.resident_ids[-1],
                                       "household_id": household_id})
        children += [child | {"household_id": household_id} for child in family.children]
    ctx.insert(Guardian, guardians)
    child_ids = iter(ctx.insert(Child, children, with_ids=True))
    for family in families:
        family.child_ids = [next(child_ids) for _ in family.children]


# Applications


def make_applications(ctx: DemoContext, families: list[DemoHousehold], centers: list[str],
                      known: FormRegistry) -> int:
    """Submit childcare requests and consultation bookings, then move them through statuses."""
    kinds = [f for f in (known.get("childcare"), known.get("consultation")) if f is not None]
    if not kinds:
        return 0
    rows = []
    for family in families:
        for _ in range(ctx.rng.choices((0, 1, 2), (0.5, 0.35, 0.15))[0]):
            form = ctx.rng.choice(kinds)
            start = max(family.joined, ctx.at(ctx.first_day, 9))
            span = max((ctx.now - start).total_seconds() - 600, 60)
            when = start + timedelta(seconds=ctx.rng.uniform(0, span))
            rows.append(application(ctx, family, form, when, centers))
    rows.sort(key=lambda r: r["submitted_at"])
    statuses = [status_for(ctx, r["submitted_at"]) for r in rows]
    # Every status is shown at least once: the oldest requests take the ones still missing.
    for n, missing in enumerate(s for s in S if s not in statuses):
        if n < len(statuses):
            statuses[n] = missing
    number_receipts(ctx, rows)
    histories = [history(ctx, row, status) for row, status in zip(rows, statuses)]
    for row, changes in zip(rows, histories):
        if changes:
            last = changes[-1]
            row.update(status=last["status"], status_comment=last["comment"],
                       updated_at=last["changed_at"])
    ids = ctx.insert(Submission, rows, with_ids=True)
    ctx.insert(StatusChange, [change | {"submission_id": submission_id}
                              for submission_id, changes in zip(ids, histories)
                              for change in changes])
    return len(rows)


def application(ctx: DemoContext, family: DemoHousehold, form: Form, when: datetime,
                centers: list[str]) -> dict[str, Any]:
    """Build one submission row with answers as the form engine stores them."""
    guardian = family.guardians[0]
    answers = (childcare_answers(ctx, family, when, centers) if form.id == "childcare"
               else consultation_answers(ctx, guardian, when))
    center = answers.get(form.route_to_center) if form.route_to_center else None
    return {"receipt_no": "", "form_id": form.id, "department_code": form.department,
            "center_code": center if isinstance(center, str) else None,
            "resident_id": family.resident_ids[0], "household_id": family.id,
            "answers": answers, "language": family.language, "status": S.RECEIVED,
            "status_comment": None, "submitted_at": when, "updated_at": when,
            "_prefix": form.receipt_prefix}


def later_day(ctx: DemoContext, when: datetime, low: int, high: int, closed: set[int]) -> date:
    """Return a local day low..high days after `when`, on a weekday not in `closed`."""
    day = ctx.city.today(when) + timedelta(days=ctx.rng.randint(low, high))
    while day.weekday() in closed:
        day += timedelta(days=1)
    return day


def childcare_answers(ctx: DemoContext, family: DemoHousehold, when: datetime,
                      centers: list[str]) -> dict[str, Any]:
    rng = ctx.rng
    born = [(cid, c) for cid, c in zip(family.child_ids, family.children)
            if c["birth_date"] < ctx.city.today(when)] or \
        list(zip(family.child_ids, family.children))
    child_id, child = rng.choice(born)
    start = rng.choice((8, 9, 10, 13, 14))
    reason = rng.choices(("work", "illness", "family_care", "refresh", "other"),
                         (0.4, 0.2, 0.1, 0.25, 0.05))[0]
    answers: dict[str, Any] = {
        "child": {"id": child_id, "name": child["name"]}, "center": rng.choice(centers),
        "date": later_day(ctx, when, 1, 30, {6}).isoformat(), "start_time": f"{start:02d}:00",
        "hours": rng.randint(1, min(4, 17 - start)), "reason": reason,
        "contact_phone": family.guardians[0]["phone"],
        "notes": child["notes"] if child["notes"] and rng.random() < 0.7 else None}
    if reason == "other":
        answers["reason_detail"] = "きょうだいの学校行事のため"
    return answers


def consultation_answers(ctx: DemoContext, guardian: dict[str, Any],
                         when: datetime) -> dict[str, Any]:
    rng = ctx.rng
    first = later_day(ctx, when, 1, 25, {5, 6})
    second = later_day(ctx, when, 1, 25, {5, 6}) if rng.random() < 0.5 else None
    method = rng.choices(("line", "phone", "email"), (0.5, 0.35, 0.15))[0]
    answers: dict[str, Any] = {
        "topic": rng.choice(("development", "parenting", "health", "nursery", "other")),
        "details": rng.choice((None, None, "夜なかなか寝てくれません", "離乳食の進め方について")),
        "first_date": first.isoformat(),
        "second_date": second.isoformat() if second and second != first else None,
        "time_of_day": sorted(rng.sample(("morning", "afternoon", "evening"), rng.randint(1, 2)),
                              key=("morning", "afternoon", "evening").index),
        "contact_method": method}
    if method == "phone":
        answers["phone"] = guardian["phone"]
    elif method == "email":
        answers["email"] = f"demo{guardian['phone'][-5:]}@example.jp"
    return answers


def status_for(ctx: DemoContext, submitted: datetime) -> SubmissionStatus:
    """Pick a status that fits the request's age: recent ones wait, old ones are done."""
    days = (ctx.now - submitted).days
    if days < 3:
        return ctx.rng.choices((S.RECEIVED, S.IN_REVIEW), (0.7, 0.3))[0]
    if days < 14:
        return ctx.rng.choices((S.RECEIVED, S.IN_REVIEW, S.APPROVED, S.RETURNED),
                               (0.2, 0.4, 0.3, 0.1))[0]
    return ctx.rng.choices((S.APPROVED, S.RETURNED, S.DONE), (0.1, 0.08, 0.82))[0]


def number_receipts(ctx: DemoContext, rows: list[dict[str, Any]]) -> None:
    """Give receipt numbers in order of submission, one counter update per prefix and year."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row.pop("_prefix"), ctx.city.local(row["submitted_at"]).year)
        groups.setdefault(key, []).append(row)
    for (prefix, year), members in groups.items():
        for row, number in zip(members, reserve_receipt_nos(ctx.session, prefix, year,
                                                            len(members))):
            row["receipt_no"] = number


PATHS = {S.RECEIVED: (), S.IN_REVIEW: (S.IN_REVIEW,), S.APPROVED: (S.IN_REVIEW, S.APPROVED),
         S.RETURNED: (S.IN_REVIEW, S.RETURNED), S.DONE: (S.IN_REVIEW, S.APPROVED, S.DONE)}


def history(ctx: DemoContext, row: dict[str, Any],
            status: SubmissionStatus) -> list[dict[str, Any]]:
    """Return the status changes that lead to `status`, hours to days apart, none in the future."""
    when, changes = row["submitted_at"], []
    for step in PATHS[status]:
        when = min(when + timedelta(hours=ctx.rng.randint(2, 72)), ctx.now)
        comment = (RETURN_REASONS.get(row["form_id"], "内容をご確認ください。")
                   if step == S.RETURNED else APPROVAL_NOTES.get(row["form_id"])
                   if step == S.APPROVED else None)
        changes.append({"status": step, "comment": comment,
                        "changed_by": STAFF, "changed_at": when})
    return changes


# Anonymous surveys


def make_survey_answers(ctx: DemoContext, survey: Form) -> int:
    """Spread anonymous answers over the period (a random id and the day, nothing else)."""
    options = {f.id: [o.value for o in f.options] for f in survey.fields if f.options}
    if not {"satisfaction", "centers"} <= options.keys():
        return 0
    days = ctx.days()
    # Most are content: the first options ("very satisfied", "satisfied") weigh most.
    weights = [0.5 ** n for n in range(len(options["satisfaction"]))]
    rows = []
    for _ in range(max(1, ctx.households * ctx.months // 20)):
        rows.append({
            "id": str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4)),
            "form_id": survey.id, "department_code": survey.department,
            "answered_on": ctx.rng.choice(days) if days else ctx.today,
            "answers": {"satisfaction": ctx.rng.choices(options["satisfaction"], weights)[0],
                        "centers": sorted(ctx.rng.sample(options["centers"], ctx.rng.randint(
                            1, min(2, len(options["centers"]))))),
                        "recommend": ctx.rng.random() < 0.85, "comment": None}})
    ctx.insert(SurveyAnswer, rows)
    return len(rows)
