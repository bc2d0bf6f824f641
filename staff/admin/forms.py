"""Admin forms: staff accounts, centers, departments, districts, the audit filter."""

from __future__ import annotations

from datetime import date, time

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateField, RadioField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField, TimeField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from models.center import SHORT_NAME_MAX, WEEKDAYS, CheckinMode
from models.staff import StaffRole
from staff.args import date_in_range
from staff.baseform import StaffForm
from staff.forms import NewPasswordMixin
from staff.templating import ROLE_LABELS

MIDNIGHT = time(0)
CODE = Regexp(r"^[a-z0-9][a-z0-9_-]{0,31}$",
              message=_l("A code is 1 to 32 lower-case letters, digits, '-' or '_'."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScopeFields:
    role = RadioField(_l("Role"), choices=[SelectChoice(r.value, ROLE_LABELS[r.value]) for r in StaffRole],
                      validators=[DataRequired(_l("Please choose a role."))])
    centers = MultiCheckboxField(_l("Centers (for center staff)"), choices=[])
    departments = MultiCheckboxField(_l("Departments (for department staff)"), choices=[])
    display_name = StringField(_l("Name shown on screens"), validators=[Length(max=100)])


class UserCreateForm(StaffForm, ScopeFields, NewPasswordMixin):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Please enter a username.")), Length(max=64)],
        render_kw={"autocapitalize": "none", "autocomplete": "off"})


class UserEditForm(StaffForm, ScopeFields):
    disabled = BooleanField(_l("Disabled (cannot sign in)"))


class PasswordResetForm(StaffForm, NewPasswordMixin):
    pass


class NamesFields:
    name_ja = StringField(_l("Name (Japanese)"), validators=[
        DataRequired(_l("Please enter the Japanese name.")), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[
        DataRequired(_l("Please enter the English name.")), Length(max=200)])


class CodeField:
    code = StringField(_l("Code"), validators=[DataRequired(_l("Please enter a code.")), CODE],
                       render_kw={"autocapitalize": "none"})


class DistrictForm(StaffForm, CodeField, NamesFields):
    pass


class DepartmentForm(StaffForm, CodeField, NamesFields):
    active = BooleanField(_l("Active"), default=True)


class CenterForm(StaffForm, CodeField, NamesFields):
    short_name_en = StringField(_l("Short English name (for LINE buttons)"), validators=[
        Length(max=SHORT_NAME_MAX,
               message=_l("Please keep the short name to %(max)d characters."))])
    address = StringField(_l("Address"), validators=[Length(max=300)])
    district = SelectField(_l("District"), choices=[], validate_choice=True)
    checkin_mode = RadioField(_l("Check-in"), default=CheckinMode.POSTER.value, choices=[
        SelectChoice(CheckinMode.POSTER.value, _l("QR poster at the door")),
        SelectChoice(CheckinMode.KIOSK.value, _l("Rotating QR code on a kiosk screen"))])
    active = BooleanField(_l("Active"), default=True)
    closed_days = TextAreaField(_l("Other closed days (one date a line, YYYY-MM-DD)"),
                                render_kw={"rows": 4})

    def validate_closed_days(self, field) -> None:
        parse_closed_days(field.data or "")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for day in WEEKDAYS:
            opens, closes = self[f"{day}_opens"], self[f"{day}_closes"]
            if bool(opens.data) != bool(closes.data):
                closes.errors.append(_l("Enter both times, or neither for a closed day."))
                ok = False
            elif opens.data and closes.data != MIDNIGHT and opens.data >= closes.data:
                closes.errors.append(_l("Closing must be after opening."))
                ok = False
        return ok

    def opening_hours(self) -> dict[str, list[str] | None]:
        """Return the weekly hours as stored on Center.opening_hours (midnight as "24:00")."""
        return {day: [self[f"{day}_opens"].data.strftime("%H:%M"),
                      closing_text(self[f"{day}_closes"].data)]
                if self[f"{day}_opens"].data else None for day in WEEKDAYS}


def closing_text(closes: time) -> str:
    """Write a closing time as stored: 00:00 closes at midnight, the end of the day, "24:00"."""
    return "24:00" if closes == MIDNIGHT else closes.strftime("%H:%M")


def form_time(hhmm: str | None) -> time | None:
    """Read a stored "HH:MM" for a time input, "24:00" as 00:00; None when it is unreadable.

    A time input cannot show 24:00 (it used to raise ValueError and the edit page answered
    500); an unreadable stored value shows empty, and "Enter both times" asks for it again.
    """
    if hhmm == "24:00":
        return MIDNIGHT
    try:
        return time.fromisoformat(hhmm or "")
    except (TypeError, ValueError):
        return None


for _day in WEEKDAYS:
    setattr(CenterForm, f"{_day}_opens", TimeField(_l("Opens"), validators=[Optional()]))
    setattr(CenterForm, f"{_day}_closes", TimeField(_l("Closes"), validators=[Optional()]))


def parse_closed_days(text: str) -> list[str]:
    """Return the ISO dates of a one-date-a-line text, or raise ValidationError naming the line."""
    days = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            days.append(date.fromisoformat(line).isoformat())
        except ValueError:
            raise ValidationError(_l("Line %(number)d is not a date like 2026-12-29.",
                                     number=number)) from None
    return sorted(set(days))


class AuditFilterForm(StaffForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    user = SelectField(_l("Staff member"), choices=[], validate_choice=False)
    since = DateField(_l("From"), validators=[Optional(), date_in_range])
    until = DateField(_l("Until"), validators=[Optional(), date_in_range])

