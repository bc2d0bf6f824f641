"""Staff pages of events: list, create (weekly series too), edit, cancel, the reservation list
with the waitlist in order, attendance and no-shows, manual add, CSV and Excel export.

Every view goes through staff.access: an event of a center outside the user's scope is 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from wtforms import (BooleanField, DateField, DateTimeLocalField, IntegerField, RadioField,
                     SelectChoice, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField,
                     TimeField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from checkin.services import guardian_by_phone_and_kana
from cityhall.city import current_city
from cityhall.languages import language_names
from events import services
from events.services import EventRefused
from events.settings import offer_valid
from models import Center, District, utcnow
from models.event import Event, Reservation
from staff import audit, exports
from staff.access import require_role, samples, scoped_center_ids, scoped_centers
from staff.baseform import StaffForm
from staff.database import db_session
from staff.nav import nav_item
from staff.templating import current_language

bp = Blueprint("events_staff", __name__, url_prefix="/staff/events", template_folder="templates",
               static_folder="static", static_url_path="/static")

ROLES = ("admin", "center")
NAV = [nav_item("events_staff.index", _l("Events"), roles=set(ROLES),
                description=_l("Create events, see reservations and the waitlist, attendance; "
                               "CSV and Excel."), order=30)]
STATUS_LABELS = {"reserved": _l("Reserved"), "cancelled": _l("Cancelled by the family"),
                 "event_cancelled": _l("Event cancelled"), "waiting": _l("Waiting"),
                 "offered": _l("Offered"), "accepted": _l("Accepted"), "declined": _l("Declined"),
                 "expired": _l("Offer expired"), "left": _l("Left the waitlist"),
                 "unmet": _l("Still waiting at the start")}
SOURCE_LABELS = {"chat": _l("LINE"), "offer": _l("From the waitlist"), "staff": _l("By staff")}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _after_start(form, field) -> None:
    if field.data and form.start.data and field.data <= form.start.data:
        raise ValidationError(gettext("The end must be after the start."))


def _age_order(form, field) -> None:
    low = form.min_age_months.data
    if field.data is not None and low is not None and field.data < low:
        raise ValidationError(gettext("The maximum age is below the minimum age."))


class EventForm(StaffForm):
    center = SelectField(_l("Organising center"), validators=[DataRequired()])
    place_name = StringField(_l("Place, when not at the center"), validators=[
        Optional(), Length(max=200)])
    place_address = StringField(_l("Address of that place"), validators=[
        Optional(), Length(max=300)])
    title_ja = StringField(_l("Title (Japanese)"), validators=[
        DataRequired(_l("Please enter a title.")), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    description_ja = TextAreaField(_l("Description (Japanese)"), validators=[
        Optional(), Length(max=2000)])
    description_en = TextAreaField(_l("Description (English)"), validators=[
        Optional(), Length(max=2000)])
    day = DateField(_l("Date"), validators=[DataRequired(_l("Please enter the date."))])
    start = TimeField(_l("Starts"), validators=[DataRequired(_l("Please enter the start time."))])
    end = TimeField(_l("Ends"), validators=[DataRequired(_l("Please enter the end time.")),
                                            _after_start])
    capacity = IntegerField(_l("Capacity"), validators=[
        DataRequired(_l("Please enter the capacity.")), NumberRange(min=1, max=10000)])
    unit = RadioField(_l("Capacity counts"), choices=[SelectChoice("children", _l("children")),
                                                      SelectChoice("families", _l("families"))],
                      default="children", validators=[DataRequired()])
    min_age_months = IntegerField(_l("Youngest age (months, at the event date)"),
                                  validators=[Optional(), NumberRange(min=0, max=240)])
    max_age_months = IntegerField(_l("Oldest age (months, at the event date)"),
                                  validators=[Optional(), NumberRange(min=0, max=240), _age_order])
    districts = MultiCheckboxField(_l("Districts that may book (none ticked: all)"), choices=[])
    opens = DateTimeLocalField(_l("Booking opens (empty: now)"), format="%Y-%m-%dT%H:%M",
                               validators=[Optional()])
    closes = DateTimeLocalField(_l("Booking closes (empty: at the start)"),
                                format="%Y-%m-%dT%H:%M", validators=[Optional()])
    cancel_deadline = DateTimeLocalField(_l("Cancellation deadline (empty: the start)"),
                                         format="%Y-%m-%dT%H:%M", validators=[Optional()])
    guardians_without_child = BooleanField(_l("Guardians without a child may come"))
    weeks = IntegerField(_l("Repeat weekly for this many weeks"), default=1,
                         validators=[Optional(), NumberRange(min=1, max=52)])
    submit = SubmitField(_l("Save"))


class AddForm(StaffForm):
    name = StringField(_l("Family name (as it should appear on the list)"), validators=[
        DataRequired(_l("Please enter a name.")), Length(max=100)])
    phone = StringField(_l("Phone of a registered guardian (optional)"),
                        validators=[Optional(), Length(max=20)], render_kw={"autocomplete": "off"})
    kana = StringField(_l("The guardian's name in kana (with the phone)"),
                       validators=[Optional(), Length(max=100)], render_kw={"autocomplete": "off"})
    places = IntegerField(_l("Places"), default=1, validators=[
        DataRequired(_l("Please enter the places.")), NumberRange(min=1, max=20)])
    submit = SubmitField(_l("Add reservation"))


@bp.context_processor
def _helpers() -> dict:
    return {"localized_title": lambda event: event.title(current_language())}


def _sample_event(session) -> int:
    """Create an event at the access test's in-scope center and return its id."""
    center = session.scalars(select(Center).where(Center.code == "central")).one()
    start = utcnow().replace(microsecond=0) + timedelta(days=2)
    [event] = services.create_events(session, {
        "center_id": center.id, "title_ja": "見本のイベント", "starts_at": start,
        "ends_at": start + timedelta(hours=1), "capacity": 10, "unit": "children"}, utcnow())
    return event.id


def _event(event_id: int) -> Event:
    """Return an event of the user's centers, or 404."""
    event = db_session().get(Event, event_id)
    ids = scoped_center_ids()
    if event is None or (ids is not None and event.center_id not in ids):
        abort(404)
    return event


def _subject(event_id: int) -> str:
    return f"event:{event_id}"


@bp.get("/")
@require_role(*ROLES)
def index():
    """List the events of the user's centers: upcoming, then the last 60 days."""
    session, now = db_session(), utcnow()
    ids = scoped_center_ids()
    query = select(Event).where(Event.starts_at >= now - timedelta(days=60))
    if ids is not None:
        query = query.where(Event.center_id.in_(sorted(ids) or [-1]))
    events = session.scalars(query.order_by(Event.starts_at, Event.id)).all()
    rows = [{**services.summary(session, e), "event": e,
             "when": services.when_text(e, current_city(), current_language()),
             "past": e.ends_at <= now} for e in events]
    return render_template("events/index.html", rows=rows)


def _choices(form: EventForm) -> None:
    session = db_session()
    form.center.choices = [SelectChoice(c.code, c.name_ja) for c in scoped_centers(session)]
    form.districts.choices = [SelectChoice(d.code, d.name_ja) for d in
                              session.scalars(select(District).order_by(District.id))]


def _local(value: datetime | None) -> datetime | None:
    """A date-time typed in the form is the city's local time."""
    if value is None:
        return None
    return value.replace(tzinfo=current_city().zone).astimezone(UTC)


def _values(form: EventForm) -> dict:
    session, city = db_session(), current_city()
    center = session.scalars(select(Center).where(Center.code == form.center.data)).one()
    day = form.day.data
    return {"center_id": center.id, "place_name": (form.place_name.data or "").strip() or None,
            "place_address": (form.place_address.data or "").strip() or None,
            "title_ja": form.title_ja.data.strip(),
            "title_en": (form.title_en.data or "").strip() or None,
            "description_ja": form.description_ja.data or "",
            "description_en": form.description_en.data or None,
            "starts_at": city.at(day, form.start.data.strftime("%H:%M")).astimezone(UTC),
            "ends_at": city.at(day, form.end.data.strftime("%H:%M")).astimezone(UTC),
            "capacity": form.capacity.data, "unit": form.unit.data,
            "min_age_months": form.min_age_months.data,
            "max_age_months": form.max_age_months.data,
            "districts": list(form.districts.data or []), "opens_at": _local(form.opens.data),
            "closes_at": _local(form.closes.data),
            "cancel_deadline": _local(form.cancel_deadline.data),
            "guardians_without_child": bool(form.guardians_without_child.data)}


@bp.route("/new", methods=["GET", "POST"])
@require_role(*ROLES)
def new():
    """Create an event, or one per week for N weeks."""
    form = EventForm()
    _choices(form)
    if form.validate_on_submit():
        session = db_session()
        created = services.create_events(session, _values(form), utcnow(),
                                          weeks=form.weeks.data or 1)
        audit.record(session, "event.create", target=f"event:{created[0].id}",
                     detail={"events": [e.id for e in created], "weeks": len(created)})
        session.commit()
        flash(gettext("%(count)s event(s) created.", count=len(created)), "info")
        return redirect(url_for("events_staff.detail", event_id=created[0].id))
    return render_template("events/form.html", form=form, event=None)


def _fill(form: EventForm, event: Event) -> None:
    city = current_city()
    start, end = city.local(event.starts_at), city.local(event.ends_at)
    form.center.data = db_session().get(Center, event.center_id).code
    for name in ("place_name", "place_address", "title_ja", "title_en", "description_ja",
                 "description_en", "capacity", "unit", "min_age_months", "max_age_months",
                 "districts", "guardians_without_child"):
        getattr(form, name).data = getattr(event, name)
    form.day.data, form.start.data, form.end.data = start.date(), start.time(), end.time()
    for name, column in (("opens", "opens_at"), ("closes", "closes_at"),
                         ("cancel_deadline", "cancel_deadline")):
        value = getattr(event, column)
        getattr(form, name).data = city.local(value).replace(tzinfo=None) if value else None


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@require_role(*ROLES)
@samples(event_id=_sample_event)
def edit(event_id: int):
    """Change an event (audited); more places go to the waitlist at once."""
    event = _event(event_id)
    form = EventForm()
    _choices(form)
    if not form.is_submitted():
        _fill(form, event)
    elif form.validate():
        session = db_session()
        try:
            diff = services.update_event(session, event, _values(form), utcnow(),
                                         city=current_city(), offer_valid=offer_valid())
        except EventRefused as refused:
            session.rollback()
            form.capacity.errors = [*form.capacity.errors, refused.text(current_language())]
        else:
            audit.record(session, "event.update", target=f"event:{event.id}", detail=diff)
            session.commit()
            flash(gettext("Saved."), "info")
            return redirect(url_for("events_staff.detail", event_id=event.id))
    return render_template("events/form.html", form=form, event=event)


@bp.get("/<int:event_id>/")
@require_role(*ROLES)
@samples(event_id=_sample_event)
@audit.audit_personal_view("event_reservations", subject=_subject)
def detail(event_id: int):
    """The event and its reservation list: reservations, attendance, the waitlist in order."""
    event = _event(event_id)
    return _detail_page(event, AddForm())


def _detail_page(event: Event, add: AddForm, status: int = 200):
    session, city = db_session(), current_city()
    roll = services.roll(session, event, city, utcnow())
    audit.personal_view_detail(reservations=len(roll.reservations), waitlist=len(roll.waitlist))
    return render_template(
        "events/detail.html", event=event, roll=roll, add=add,
        summary=services.summary(session, event), center=session.get(Center, event.center_id),
        when=services.when_text(event, city, current_language()), labels=STATUS_LABELS,
        sources=SOURCE_LABELS, place=services.place_name(session, event, current_language()),
        languages=language_names(), past=event.ends_at <= utcnow()), status


@bp.post("/<int:event_id>/reservations")
@require_role(*ROLES)
@samples(event_id=_sample_event)
@audit.audit_personal_view("event_reservations", subject=_subject)
def add(event_id: int):
    """Add a reservation by hand (audited): a family on the phone, or without LINE."""
    event = _event(event_id)
    form = AddForm()
    if not form.validate_on_submit():
        return _detail_page(event, form, 400)
    session = db_session()
    guardian = None
    if form.phone.data or form.kana.data:
        guardian = guardian_by_phone_and_kana(session, form.phone.data or "", form.kana.data or "")
        if guardian is None:
            form.phone.errors = [*form.phone.errors, gettext(
                "No registered family matches this phone number and kana name.")]
            return _detail_page(event, form, 400)
    try:
        reservation = services.add_by_staff(session, event, utcnow(),
                                            guest_name=form.name.data.strip(),
                                            guardian=guardian, places=form.places.data)
    except EventRefused as refused:
        session.rollback()
        form.places.errors = [*form.places.errors, refused.text(current_language())]
        return _detail_page(event, form, 400)
    audit.record(session, "event.reservation_add", target=f"event:{event.id}",
                 detail={"reservation": reservation.id, "places": reservation.places,
                         "registered": guardian is not None})
    session.commit()
    flash(gettext("Reservation added."), "info")
    return redirect(url_for("events_staff.detail", event_id=event.id))


@bp.post("/<int:event_id>/cancel")
@require_role(*ROLES)
@samples(event_id=_sample_event)
def cancel(event_id: int):
    """Cancel the event (audited): every reserved and waiting family is told."""
    event = _event(event_id)
    session = db_session()
    counts = services.cancel_event(session, event, utcnow(), city=current_city())
    audit.record(session, "event.cancel", target=f"event:{event.id}", detail=counts)
    session.commit()
    flash(gettext("The event is cancelled; %(reserved)s reserved and %(waiting)s waiting "
                  "families are told.", **counts), "info")
    return redirect(url_for("events_staff.detail", event_id=event.id))


def _sample_reservation(session) -> int:
    """Create an event at central with one reservation added by hand; return the reservation."""
    event = session.get(Event, _sample_event(session))
    return services.add_by_staff(session, event, utcnow(), guest_name="見本", guardian=None,
                                 places=1).id


@bp.post("/reservations/<int:reservation_id>/attended")
@require_role(*ROLES)
@samples(reservation_id=_sample_reservation)
def attended(reservation_id: int):
    """Mark a reservation attended, or not (audited): for events held away from the center."""
    session = db_session()
    reservation = session.get(Reservation, reservation_id)
    if reservation is None:
        abort(404)
    event = _event(reservation.event_id)
    came = reservation.attended_at is None
    services.set_attended(session, reservation, came, utcnow())
    audit.record(session, "event.attendance", target=f"event:{event.id}",
                 detail={"reservation": reservation.id, "attended": came})
    session.commit()
    return redirect(url_for("events_staff.detail", event_id=event.id))


def _export_rows(event: Event) -> tuple[list[str], list[list]]:
    session, city = db_session(), current_city()
    roll = services.roll(session, event, city, utcnow())
    names = language_names()
    header = [gettext("List"), gettext("Order"), gettext("Name"), gettext("Language"),
              gettext("Children"),
              gettext("Places"), gettext("Status"), gettext("Booked or joined"),
              gettext("Attended"), gettext("No-show")]
    rows = [[gettext("Reservations"), r["id"], r["name"], names.get(r["language"] or "", "—"),
             r["children"], r["places"],
             str(STATUS_LABELS[r["status"]]), r["booked"], "✓" if r["attended"] else "",
             "✓" if r["no_show"] else ""] for r in roll.reservations]
    rows += [[gettext("Waitlist"), w["position"] or "", w["name"],
              names.get(w["language"] or "", "—"), w["children"], w["places"],
              str(STATUS_LABELS[w["status"]]), w["joined"], "", ""] for w in roll.waitlist]
    audit.personal_view_detail(rows=len(rows))
    return header, rows


@bp.get("/<int:event_id>/reservations.csv")
@require_role(*ROLES)
@samples(event_id=_sample_event)
@audit.audit_personal_view("event_reservations", subject=_subject)
def export_csv(event_id: int):
    """Download the reservation list and waitlist as CSV (audited)."""
    header, rows = _export_rows(_event(event_id))
    return exports.download(exports.csv_bytes(header, rows), exports.CSV_MIMETYPE,
                            f"event-{event_id}-reservations.csv")


@bp.get("/<int:event_id>/reservations.xlsx")
@require_role(*ROLES)
@samples(event_id=_sample_event)
@audit.audit_personal_view("event_reservations", subject=_subject)
def export_xlsx(event_id: int):
    """Download the reservation list and waitlist as Excel (audited)."""
    header, rows = _export_rows(_event(event_id))
    return exports.download(exports.rows_xlsx(header, rows, "reservations"),
                            exports.XLSX_MIMETYPE, f"event-{event_id}-reservations.xlsx")
