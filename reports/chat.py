"""Reporting in the chat: category, one to four photos and the place (either order), comment,
contact consent, the 50 m duplicate offer, the receipt; "My reports" and reopening.

The report being written is a `ReportDraft` row (one per resident), so any web worker takes
the next message. Photos and locations reach it through the router's `conversation` hook,
which the bot tries after a running form; a photo or a location sent with nothing running
starts a report (so the resident may begin with either).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from bot import messages
from bot.context import EventContext
from bot.flows.fields import Input, normalize, strip_controls
from bot.gateway import LineError, gateway
from bot.postback import PostbackData
from bot.router import Router
from cityhall.i18n import format_day
from models import District
from models.report import Report, ReportDraft, ReportDraftPhoto
from reports import photos, services
from reports.geo import Boundary, load_boundary
from reports.services import N_, NewReport, ReportRefused

router = Router("reports")

MAX_PHOTOS = 4
COMMENT_LIMIT = 500
PHOTO_REFUSALS = {
    "not_image": N_("That file is not a photo we can read. Please send a JPEG or PNG photo."),
    "too_large": N_("That photo is too large (over 10 MB). Please send a smaller one."),
    "too_big": N_("That photo has too many pixels. Please send a smaller one."),
}


@dataclass(frozen=True)
class PickCategory(PostbackData, prefix="rp.cat"):
    code: str


@dataclass(frozen=True)
class Answer(PostbackData, prefix="rp.ans"):
    """A tap in the report being written: the step it belongs to and the value."""

    step: str
    value: str


@dataclass(frozen=True)
class FollowReport(PostbackData, prefix="rp.follow"):
    report: int


@dataclass(frozen=True)
class MyReports(PostbackData, prefix="rp.mine"):
    page: int = 0


@dataclass(frozen=True)
class Reopen(PostbackData, prefix="rp.reopen"):
    report: int


def boundary() -> Boundary:
    return load_boundary(current_app.config.get("CITYHALL_BOUNDARY") or None)


def city_name(ctx: EventContext) -> str:
    return boundary().name(ctx.language)


# The draft


def draft_of(ctx: EventContext) -> ReportDraft | None:
    """Return the resident's draft, dropping one left alone longer than the form expiry."""
    resident = ctx.find_resident()
    draft = ctx.session.get(ReportDraft, resident.id, with_for_update=True) if resident else None
    if draft is not None and ctx.now - draft.updated_at > ctx.city.form_expiry:
        discard(ctx, draft)
        return None
    return draft


def discard(ctx: EventContext, draft: ReportDraft) -> None:
    for photo_id in draft.photo_ids:
        photo = ctx.session.get(ReportDraftPhoto, photo_id)
        if photo is not None:
            ctx.session.delete(photo)
    ctx.session.delete(draft)
    ctx.session.flush()


def new_draft(ctx: EventContext, step: str = "category") -> ReportDraft:
    old = draft_of(ctx)
    if old is not None:
        discard(ctx, old)
    draft = ReportDraft(resident_id=ctx.resident().id, step=step, data={}, photo_ids=[],
                        started_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(draft)
    ctx.session.flush()
    return draft


def save(ctx: EventContext, draft: ReportDraft, step: str | None = None, **data: Any) -> None:
    """Store answers (a new dict, so the JSON column sees the change) and the next step."""
    draft.data = {**draft.data, **data}
    if step is not None:
        draft.step = step
    draft.updated_at = ctx.now


# Prompts


def cancel_item(ctx: EventContext) -> dict[str, Any]:
    label = ctx.t("Stop reporting")
    return messages.postback_item(label, Answer("any", "cancel"), label)


def device(kind: str, label: str) -> dict[str, Any]:
    return {"type": "action", "action": {"type": kind, "label": label[:20]}}


def ask_category(ctx: EventContext) -> dict[str, Any]:
    disaster = services.disaster_mode(ctx.session)
    names = [(c.code, services.category_label(c, ctx.language))
             for c in services.categories(ctx.session, disaster_first=disaster)]
    items = [messages.postback_item(name, PickCategory(code), name) for code, name in names][:10]
    mine = ctx.t("My reports")
    items += [messages.postback_item(mine, MyReports(), mine), cancel_item(ctx)]
    lead = ctx.t("Disaster mode: reports of damage are handled first.") + "\n" if disaster else ""
    return messages.text(lead + ctx.t("What would you like to report? Choose a category."),
                         quick_replies=items)


def yes_no(ctx: EventContext, step: str, question: str) -> dict[str, Any]:
    yes, no = ctx.t("Yes"), ctx.t("No")
    return messages.text(question, quick_replies=[
        messages.postback_item(yes, Answer(step, "yes"), yes),
        messages.postback_item(no, Answer(step, "no"), no), cancel_item(ctx)])


def ask_collect(ctx: EventContext, draft: ReportDraft) -> dict[str, Any]:
    """Ask for what is still missing: photos (1 to 4) and the place, in any order."""
    has_place, count = "latitude" in draft.data, len(draft.photo_ids)
    if count and not has_place:
        text = ctx.t("Now send the place: tap \"Send location\", or type the address.")
    elif has_place and not count:
        text = ctx.t("Now send one to four photos of the problem.")
    else:
        text = ctx.t("Send one to four photos and the place (tap \"Send location\", or type the "
                     "address), in any order.")
    items = []
    if count < MAX_PHOTOS:
        items += [device("camera", ctx.t("Camera")), device("cameraRoll", ctx.t("Photos"))]
    if not has_place:
        items.append(device("location", ctx.t("Send location")))
    if count and has_place:
        done = ctx.t("That's all")
        items.append(messages.postback_item(done, Answer("collect", "done"), done))
    return messages.text(text, quick_replies=[*items, cancel_item(ctx)])


def ask_comment(ctx: EventContext) -> dict[str, Any]:
    skip = ctx.t("Skip")
    return messages.text(ctx.t("Add a short comment (what is wrong, where exactly), or tap "
                               "\"Skip\". You can still send more photos (up to four)."),
                         quick_replies=[messages.postback_item(skip, Answer("comment", "skip"),
                                                               skip), cancel_item(ctx)])


def prompt(ctx: EventContext, draft: ReportDraft) -> dict[str, Any]:
    """Ask the draft's current step again."""
    step = draft.step
    if step == "category":
        return ask_category(ctx)
    if step == "injured":
        return yes_no(ctx, "injured", ctx.t("Is anyone hurt?"))
    if step == "passable":
        return yes_no(ctx, "passable", ctx.t("Can vehicles pass the road?"))
    if step == "collect":
        return ask_collect(ctx, draft)
    if step == "comment":
        return ask_comment(ctx)
    if step == "contact":
        return yes_no(ctx, "contact", ctx.t("May the city contact you about this report? "
                                            "(Your name is never shown to the public.)"))
    if step == "duplicates":
        return duplicates_offer(ctx, draft)
    if step == "reopen_reason":
        return messages.text(ctx.t("Why should it be reopened? Please write what is still "
                                   "wrong."), quick_replies=[cancel_item(ctx)])
    skip = ctx.t("Skip")
    return messages.text(ctx.t("Send a photo of how it is now, or tap \"Skip\"."),
                         quick_replies=[device("camera", ctx.t("Camera")),
                                        device("cameraRoll", ctx.t("Photos")),
                                        messages.postback_item(skip, Answer("reopen_photo",
                                                                            "skip"), skip),
                                        cancel_item(ctx)])


# Entry points


@router.menu("report")
@router.command("report", "通報", "つうほう")
def start(ctx: EventContext, _text: str = "") -> None:
    """Start a new report (a half-written one is continued)."""
    draft = draft_of(ctx)
    if draft is not None and not draft.step.startswith("reopen"):
        ctx.reply(messages.text(ctx.t("Let's continue your report.")), prompt(ctx, draft))
        return
    draft = new_draft(ctx)
    ctx.reply(ask_category(ctx))


@router.menu(services.DISASTER_AREA)
def start_disaster(ctx: EventContext, _text: str = "") -> None:
    """Start a disaster-damage report straight away (the disaster menu's wide area)."""
    draft = draft_of(ctx)
    if draft is not None and not draft.step.startswith("reopen"):
        ctx.reply(messages.text(ctx.t("Let's continue your report.")), prompt(ctx, draft))
        return
    category = services.category_by_code(ctx.session, services.DISASTER) \
        if services.categories(ctx.session) else None
    new_draft(ctx)
    if category is None or not category.active:
        ctx.reply(ask_category(ctx))
        return
    picked(ctx, PickCategory(services.DISASTER))


@router.command("my reports", "通報一覧", "マイ通報")
def mine_command(ctx: EventContext, _text: str = "") -> None:
    """List the resident's own and followed reports with their status."""
    show_mine(ctx)


@router.action(MyReports)
def mine_tap(ctx: EventContext, _data: MyReports) -> None:
    show_mine(ctx)


def show_mine(ctx: EventContext) -> None:
    rows = services.my_reports(ctx.session, ctx.resident())
    if not rows:
        ctx.reply(messages.text(ctx.t("You have no reports yet. Tap \"Report\" in the menu to "
                                      "send one.")))
        return
    lines, items = [ctx.t("Your reports and the reports you follow:")], []
    for report, own in rows:
        shown = services.kept(ctx.session, report)
        status = ctx.t(services.STATUS_NAMES[shown.status])
        mark = "" if own else ctx.t(" (following)")
        lines.append(f"・{report.receipt_no} {services.category_name(report, ctx.language)}{mark}: {status}")
        if services.can_reopen(shown, ctx.now) and len(items) < 10:
            label = ctx.t("Reopen %(receipt)s", receipt=shown.receipt_no[-6:])
            items.append(messages.postback_item(label, Reopen(shown.id), label))
    ctx.reply(messages.text("\n".join(lines), quick_replies=items or None))


@router.action(PickCategory)
def picked(ctx: EventContext, data: PickCategory) -> None:
    """Store the category; disaster damage asks its own questions first."""
    draft = draft_of(ctx) or new_draft(ctx)
    category = services.category_by_code(ctx.session, data.code)
    if category is None or not category.active or draft.step != "category":
        stale(ctx, draft)
        return
    save(ctx, draft, "injured" if data.code == services.DISASTER else "collect",
         category=data.code)
    ctx.reply(messages.text(ctx.t("Category: %(name)s", name=services.category_label(category, ctx.language))),
              after_collect(ctx, draft) if draft.step == "collect" else prompt(ctx, draft))


def stale(ctx: EventContext, draft: ReportDraft | None) -> None:
    ctx.reply(messages.text(ctx.t("Sorry, that button is no longer valid.")),
              *([prompt(ctx, draft)] if draft is not None else []))


@router.action(Answer)
def answered(ctx: EventContext, data: Answer) -> None:
    """A tap in the report: yes/no, skip, done, send, or stop."""
    draft = draft_of(ctx)
    if draft is None:
        ctx.reply(messages.text(ctx.t("There is no report being written. Tap \"Report\" in the "
                                      "menu to start one.")))
        return
    if data.value == "cancel":
        cancel(ctx)
        return
    if data.step != draft.step:
        stale(ctx, draft)
        return
    yes = data.value == "yes"
    if draft.step == "injured":
        save(ctx, draft, "passable", injured=yes)
        ctx.reply(prompt(ctx, draft))
    elif draft.step == "passable":
        save(ctx, draft, "collect", passable=yes)
        ctx.reply(after_collect(ctx, draft))
    elif draft.step == "collect" and data.value == "done":
        ctx.reply(after_collect(ctx, draft))
    elif draft.step == "comment" and data.value == "skip":
        save(ctx, draft, "contact", comment=None)
        ctx.reply(prompt(ctx, draft))
    elif draft.step == "contact":
        save(ctx, draft, contact_ok=yes)
        before_submit(ctx, draft)
    elif draft.step == "duplicates" and data.value == "new":
        submit(ctx, draft)
    elif draft.step == "reopen_photo" and data.value == "skip":
        finish_reopen(ctx, draft, None)
    else:
        stale(ctx, draft)


def cancel(ctx: EventContext) -> bool:
    """Drop the draft ("cancel" or the stop button); False when there was none."""
    draft = draft_of(ctx)
    if draft is None:
        return False
    discard(ctx, draft)
    ctx.reply(messages.text(ctx.t("Your report was cancelled. Nothing was sent.")))
    return True


# Messages: photos, places, text


@router.conversation("reports", cancel=cancel)
def take(ctx: EventContext, inp: Input) -> bool:
    """Answer a message that belongs to the report being written (or starts one)."""
    draft = draft_of(ctx)
    if draft is None:
        if inp.kind not in ("image", "location"):
            return False
        draft = new_draft(ctx)
    if inp.kind == "image":
        took_photo(ctx, draft, inp.message_id)
    elif inp.kind == "location":
        took_place(ctx, draft, inp.location or {})
    elif inp.kind == "text":
        took_text(ctx, draft, inp.text)
    else:
        ctx.reply(messages.text(ctx.t("Please send a photo, a location or text.")),
                  prompt(ctx, draft))
    return True


def fetch_photo(ctx: EventContext, message_id: str | None) -> tuple[bytes, int, int, str] | None:
    """Fetch a sent photo through the gateway and clean it; say why not and return None."""
    try:
        content = gateway().get_message_content(message_id or "")
    except LineError:
        ctx.reply(messages.text(ctx.t("Sorry, the photo could not be received. Please send it "
                                      "again.")))
        return None
    try:
        clean = photos.clean(content)
    except photos.PhotoRefused as refused:
        ctx.reply(messages.text(ctx.t(PHOTO_REFUSALS[refused.reason])))
        return None
    return clean.data, clean.width, clean.height, clean.sha256


def took_photo(ctx: EventContext, draft: ReportDraft, message_id: str | None) -> None:
    if draft.step == "reopen_photo":
        photo = fetch_photo(ctx, message_id)
        if photo is not None:
            finish_reopen(ctx, draft, photo)
        else:
            ctx.reply(prompt(ctx, draft))
        return
    if draft.step in ("reopen_reason", "contact", "duplicates"):
        ctx.reply(messages.text(ctx.t("Please answer the question first.")), prompt(ctx, draft))
        return
    if len(draft.photo_ids) >= MAX_PHOTOS:
        ctx.reply(messages.text(ctx.t("Up to four photos can be sent; this one was not added.")),
                  prompt(ctx, draft))
        return
    photo = fetch_photo(ctx, message_id)
    if photo is not None:
        data, width, height, digest = photo
        row = ReportDraftPhoto(resident_id=draft.resident_id, width=width, height=height,
                               data=data, sha256=digest, created_at=ctx.now)
        ctx.session.add(row)
        ctx.session.flush()
        draft.photo_ids = [*draft.photo_ids, row.id]
        save(ctx, draft)
        ctx.reply(messages.text(ctx.t("Photo %(n)s of up to 4 received.", n=len(draft.photo_ids))))
    ctx.reply(after_collect(ctx, draft) if draft.step == "collect" else prompt(ctx, draft))


def took_place(ctx: EventContext, draft: ReportDraft, location: dict[str, Any]) -> None:
    if draft.step.startswith("reopen") or draft.step in ("contact", "duplicates"):
        ctx.reply(messages.text(ctx.t("Please answer the question first.")), prompt(ctx, draft))
        return
    try:
        lat, lon = float(location.get("latitude")), float(location.get("longitude"))
    except (TypeError, ValueError):
        ctx.reply(messages.text(ctx.t("That location could not be read. Please send it again.")),
                  prompt(ctx, draft))
        return
    if not boundary().contains(lat, lon):
        ctx.reply(messages.text(ctx.t(
            "This place is outside %(city)s, so the city cannot handle it. Please send a place "
            "in %(city)s, or contact the town where it is.", city=city_name(ctx))),
            prompt(ctx, draft))
        return
    address = strip_controls(location.get("address")) or None
    save(ctx, draft, latitude=lat, longitude=lon, address=address, approximate=False)
    shown = address or f"{lat:.5f}, {lon:.5f}"  # outside the call: not a message to extract
    ctx.reply(messages.text(ctx.t("Place received: %(address)s", address=shown)))
    ctx.reply(after_collect(ctx, draft) if draft.step == "collect" else prompt(ctx, draft))


def place_from_address(ctx: EventContext, text: str) -> tuple[float, float] | None:
    """Place a typed address at its district's centre (no geocoder needed offline)."""
    wanted = normalize(text).replace(" ", "")
    for district in ctx.session.scalars(select(District).order_by(District.id)):
        centre = boundary().districts.get(district.code)
        names = (district.name_ja, district.name_en.lower())
        if centre and any(n and n in (wanted if n == district.name_ja else wanted.lower())
                          for n in names):
            return centre[1], centre[0]
    return None


def took_text(ctx: EventContext, draft: ReportDraft, text: str) -> None:
    body = strip_controls(text).strip()
    if draft.step == "collect":
        took_address(ctx, draft, body)
    elif draft.step == "comment":
        if len(body) > COMMENT_LIMIT:
            ctx.reply(messages.text(ctx.t("Please keep the comment to %(max)s characters or "
                                          "fewer.", max=COMMENT_LIMIT)), prompt(ctx, draft))
            return
        save(ctx, draft, "contact", comment=body or None)
        ctx.reply(prompt(ctx, draft))
    elif draft.step == "reopen_reason" and body:
        save(ctx, draft, "reopen_photo", reason=body[:COMMENT_LIMIT])
        ctx.reply(prompt(ctx, draft))
    else:
        ctx.reply(messages.text(ctx.t("Please use the buttons below.")), prompt(ctx, draft))


def took_address(ctx: EventContext, draft: ReportDraft, body: str) -> None:
    if "latitude" in draft.data:
        ctx.reply(messages.text(ctx.t("The place is already received. Send photos, or tap "
                                      "\"That's all\".")), prompt(ctx, draft))
        return
    point = place_from_address(ctx, body) if body else None
    if point is None:
        ctx.reply(messages.text(ctx.t(
            "I could not place this address in %(city)s. Please include the district name "
            "(for example 太田町 or 蜂屋町), or tap \"Send location\".", city=city_name(ctx))),
            prompt(ctx, draft))
        return
    save(ctx, draft, latitude=point[0], longitude=point[1], address=body[:300], approximate=True)
    ctx.reply(messages.text(ctx.t("Address received: %(address)s", address=body[:300])))
    ctx.reply(after_collect(ctx, draft))


def after_collect(ctx: EventContext, draft: ReportDraft) -> dict[str, Any]:
    """Move on to the comment once there is a photo and a place; else ask what is missing."""
    if draft.photo_ids and "latitude" in draft.data and draft.step == "collect":
        save(ctx, draft, "comment")
    return prompt(ctx, draft)


# Duplicates and submitting


def duplicates(ctx: EventContext, draft: ReportDraft) -> list[tuple[Report, float]]:
    category = services.category_by_code(ctx.session, draft.data["category"])
    return services.nearby_open(ctx.session, category.id, draft.data["latitude"],
                                draft.data["longitude"])[:3]


def duplicates_offer(ctx: EventContext, draft: ReportDraft) -> dict[str, Any]:
    lines = [ctx.t("Is it one of these? Reports of the same kind within 50 m:")]
    items = []
    for report, metres in duplicates(ctx, draft):
        lines.append(ctx.t("・%(receipt)s, %(distance)s m away, %(status)s, since %(day)s",
                           receipt=report.receipt_no, distance=round(metres),
                           status=ctx.t(services.STATUS_NAMES[report.status]),
                           day=format_day(ctx.language, ctx.city.local(report.created_at))))
        label = ctx.t("Follow %(receipt)s", receipt=report.receipt_no[-6:])
        items.append(messages.postback_item(label, FollowReport(report.id), label))
    lines.append(ctx.t("Follow one to get its updates, or send yours as a new report."))
    new = ctx.t("No, send mine")
    items += [messages.postback_item(new, Answer("duplicates", "new"), new), cancel_item(ctx)]
    return messages.text("\n".join(lines), quick_replies=items)


def before_submit(ctx: EventContext, draft: ReportDraft) -> None:
    if duplicates(ctx, draft):
        save(ctx, draft, "duplicates")
        ctx.reply(prompt(ctx, draft))
        return
    submit(ctx, draft)


@router.action(FollowReport)
def follow_tap(ctx: EventContext, data: FollowReport) -> None:
    """Follow an existing report instead of filing the draft."""
    draft = draft_of(ctx)
    report = ctx.session.get(Report, data.report)
    if draft is None or draft.step != "duplicates" or report is None:
        stale(ctx, draft)
        return
    report = services.kept(ctx.session, report)
    services.follow(ctx.session, report, ctx.resident(), ctx.now)
    discard(ctx, draft)
    ctx.reply(messages.text(ctx.t(
        "Thank you! You now follow report %(receipt)s (%(status)s) and will get its updates. "
        "Your own report was not sent.", receipt=report.receipt_no,
        status=ctx.t(services.STATUS_NAMES[report.status]))))


def submit(ctx: EventContext, draft: ReportDraft) -> None:
    """File the report, say its receipt number, and drop the draft."""
    data = draft.data
    rows = [ctx.session.get(ReportDraftPhoto, pid) for pid in draft.photo_ids]
    details = {k: data[k] for k in ("injured", "passable", "approximate") if k in data}
    new = NewReport(category=services.category_by_code(ctx.session, data["category"]),
                    latitude=data["latitude"], longitude=data["longitude"],
                    address=data.get("address"), comment=data.get("comment"),
                    contact_ok=bool(data.get("contact_ok")), details=details,
                    photos=[(r.data, r.width, r.height, r.sha256) for r in rows if r is not None])
    try:
        report = services.file_report(ctx.session, new, ctx.resident(), ctx.now,
                                      boundary=boundary(), local_year=ctx.city.today(ctx.now).year)
    except ReportRefused as refused:
        ctx.reply(messages.text(ctx.t(refused.message, **refused.variables)))
        return
    discard(ctx, draft)
    ctx.reply(messages.text(ctx.t(
        "Thank you! Your report was received. Receipt number: %(receipt)s\nYou will get a "
        "message here whenever its status changes. See \"My reports\" any time.",
        receipt=report.receipt_no)))


# Reopening


@router.action(Reopen)
def reopen_tap(ctx: EventContext, data: Reopen) -> None:
    """Ask why a report marked done should be reopened."""
    report = ctx.session.get(Report, data.report)
    if report is None or not services.can_reopen(report, ctx.now):
        ctx.reply(messages.text(ctx.t("This report can no longer be reopened. Please send a new "
                                      "report.")))
        return
    draft = new_draft(ctx, "reopen_reason")
    save(ctx, draft, report=report.id)
    ctx.reply(prompt(ctx, draft))


def finish_reopen(ctx: EventContext, draft: ReportDraft,
                  photo: tuple[bytes, int, int, str] | None) -> None:
    report = services.lock(ctx.session, draft.data["report"])
    try:
        services.reopen(ctx.session, report, ctx.resident(), draft.data["reason"], ctx.now, photo)
    except ReportRefused as refused:
        discard(ctx, draft)
        ctx.reply(messages.text(ctx.t(refused.message, **refused.variables)))
        return
    discard(ctx, draft)
    ctx.reply(messages.text(ctx.t("Report %(receipt)s was reopened. The department will look "
                                  "at it again.", receipt=report.receipt_no)))
