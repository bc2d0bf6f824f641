"""Forms of the staff shell: sign-in, sign-out, language, own password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from cityhall.languages import STAFF_LANGUAGES
from staff.baseform import StaffForm


class LoginForm(StaffForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Please enter your username.")), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Please enter your password.")), Length(max=128)],
        render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class CodeForm(StaffForm):
    """The second sign-in step, and every page that asks for a current code."""

    code = StringField(_l("6-digit code"), validators=[
        DataRequired(_l("Please enter the code.")), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "none",
                   "spellcheck": "false", "autofocus": True})


class ActionForm(StaffForm):
    """A button that changes state (sign out, disable ...): carries only the CSRF token."""


class LanguageForm(StaffForm):
    lang = HiddenField(validators=[DataRequired()])

    def validate_lang(self, field) -> None:
        if field.data not in STAFF_LANGUAGES:
            raise ValidationError(_l("That language is not available."))


class NewPasswordMixin:
    # InputRequired, not DataRequired: a password of spaces reaches the policy, which says why.
    new_password = PasswordField(_l("New password"), validators=[
        InputRequired(_l("Please enter the new password."))],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"), validators=[
        EqualTo("new_password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"})


class OwnPasswordForm(StaffForm, NewPasswordMixin):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"})
