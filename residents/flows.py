"""What the residents feature plugs into the form engine: profile, option lists, submissions."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import select

from bot import messages
from bot.chat import link_menu
from bot.flows.dates import weekday_key
from bot.flows.hooks import FormHooks
from bot.flows.schema import Option
from cityhall.languages import KNOWN, language_names
from models import Center, District
from residents import applications, cards, services, surveys
from residents.signals import resident_registered

if TYPE_CHECKING:
    from bot.flows.engine import Turn


def _after_registration(turn: Turn, guardian) -> list[dict[str, Any]]:
    """Tell listeners (a check-in waiting for the registration); return their replies."""
    results = resident_registered.send(turn.resident, session=turn.session, guardian=guardian,
                                       now=turn.ctx.now, ctx=turn.ctx)
    return [reply for _receiver, replies in results for reply in replies or []]


def _profile(session, resident) -> dict[str, Any]:
    return services.profile(session, resident)


def _children(session, resident) -> list[tuple[int, str]]:
    guardian = services.guardian_of(session, resident)
    return [(c.id, c.name) for c in guardian.household.children] if guardian else []


def _registered(session, resident) -> bool:
    return services.guardian_of(session, resident) is not None


def district_options(session) -> list[Option]:
    """The city's districts, as seeded by `cityhall seed`."""
    rows = session.scalars(select(District).order_by(District.id))
    return [Option(d.code, {code: d.name(code) for code in KNOWN}) for d in rows]


def center_options(session) -> list[Option]:
    """The centers residents can use now (a form routes to the one chosen: route_to_center)."""
    rows = session.scalars(select(Center).where(Center.active).order_by(Center.id))
    return [Option(c.code, {code: c.name(code) for code in KNOWN},
                   {code: c.label(code) for code in KNOWN}) for c in rows]


def center_is_open(session, code: str, day: date) -> bool:
    """Tell whether a center opens on a day: hours that weekday, and not a closed day."""
    center = session.scalars(select(Center).where(Center.code == code)).first()
    if center is None:
        return True  # not a center we know: the choice itself refuses it
    return (day.isoformat() not in (center.closed_days or [])
            and center.hours_on(weekday_key(day)) is not None)


def language_options(session) -> list[Option]:
    """The languages residents can choose."""
    return [Option(code, {"ja": name, "en": name}) for code, name in language_names().items()]


def _done(turn: Turn, fallback: str) -> dict[str, Any]:
    """The form's own closing text, or the feature's default."""
    return messages.text(turn.text(turn.form.done) if turn.form.done else fallback)


def submit_registration(turn: Turn, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Register, join a partner's household, or change items of an existing registration."""
    session, resident, context = turn.session, turn.resident, turn.conv.context
    if answers.get("language") and answers["language"] != resident.language:
        link_menu(turn.ctx, answers["language"])  # linked once the change is committed
    guardian = services.guardian_of(session, resident)
    if guardian is not None:
        services.update_guardian(session, guardian, resident, answers)
        return [messages.text(turn.t("Your data has been updated."))]
    if context.get("invite"):
        joined = services.join_household(session, resident, context["invite"], answers,
                                         turn.ctx.now, turn.ctx.city.zone)
        if joined is None:
            return [messages.text(turn.t("Sorry, that invite code has expired or was already "
                                         "used. Please ask your partner for a new one."))]
        return [messages.text(turn.t("You have joined your partner's household. You now share "
                                     "the children's registration.")),
                *_after_registration(turn, joined)]
    guardian = services.register(session, resident, answers, turn.ctx.now)
    return [_done(turn, turn.t("Registration complete. It is valid at every center.")),
            *_after_registration(turn, guardian)]


def submit_child(turn: Turn, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Add a child to the household, or change items of one."""
    session, resident = turn.session, turn.resident
    guardian = services.guardian_of(session, resident)
    if guardian is None:
        return [messages.text(turn.t("Please register first: tap \"Register\" in the menu."))]
    child_id = turn.conv.context.get("child_id")
    if child_id:
        child = services.household_child(session, resident, int(child_id))
        if child is not None:
            services.update_child(session, child, answers, resident)
            return [messages.text(turn.t("Your data has been updated."))]
    child = services.add_child(session, guardian.household, answers)
    return [messages.text(turn.t("%(name)s has been added.", name=child.name))]


def submit_application(turn: Turn, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Store the application and give its receipt number; an anonymous answer gets none."""
    if turn.form.anonymous:
        return submit_anonymous(turn, answers)
    guardian = services.guardian_of(turn.session, turn.resident)
    submission = applications.submit_application(
        turn.session, turn.form, turn.resident, guardian.household_id if guardian else None,
        answers, turn.ctx.now, city=turn.ctx.city)
    alt_text = turn.t("Sent. Your receipt number is %(receipt)s. We will tell you here when its "
                      "status changes.", receipt=submission.receipt_no)
    sent_at = turn.ctx.city.local(submission.submitted_at).strftime("%Y-%m-%d %H:%M")
    return [cards.receipt(turn.t, title=turn.text(turn.form.title),
                          receipt_no=submission.receipt_no, sent_at=sent_at, alt_text=alt_text)]


def submit_anonymous(turn: Turn, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Store an anonymous answer, once per period; the thanks carry no number to match."""
    stored = surveys.record_answer(turn.session, surveys.ballot_key(current_app.config),
                                   turn.form, turn.resident, answers,
                                   turn.ctx.city.today(turn.ctx.now))
    if stored is None:
        return [already_answered(turn.ctx, turn.form)]
    return [messages.text(turn.t("Thank you! Your answers were saved without your name."))]


def already_answered(ctx, form) -> dict[str, Any]:
    """Say that the resident has answered this survey in its current period."""
    periods = {"week": ctx.t("this week"), "month": ctx.t("this month"),
               "quarter": ctx.t("this quarter"), "year": ctx.t("this year")}
    return messages.text(ctx.t("You have already answered this survey %(period)s. Thank you!",
                               period=periods[form.period]))


HOOKS = FormHooks(
    option_sources={"districts": district_options, "languages": language_options,
                    "centers": center_options},
    calendars={"centers": center_is_open},
    submit_handlers={"registration": submit_registration, "child": submit_child,
                     "application": submit_application},
    profile=_profile, children=_children, registered=_registered,
)
