"""The base of every staff form: typed text holding control characters is refused at the field.

The rule is cityhall.text's, the one the chat applies to residents' answers, so a walk-in's
name typed at the roster and one typed in LINE are held to the same characters. StaffForm
checks every text field a form declares (StringField and its kinds; a textarea may hold line
ends) after the field's own validators, so a new form is covered by deriving from StaffForm,
never by remembering a validator. Left out: passwords (hashed, never shown; their rules are
the sign-in's) and hidden fields (never typed; each has its own exact check, and an error on
a field nobody sees would only puzzle).
"""

from __future__ import annotations

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field, Form, HiddenField, PasswordField, StringField, TextAreaField

from cityhall.text import Forbidden, Refusal, find_forbidden, unify_line_ends


def is_typed_text(field: Field) -> bool:
    """Tell whether staff type free text into this field."""
    return isinstance(field, StringField) and not isinstance(field, HiddenField | PasswordField)


def refusal_message(found: Forbidden) -> str:
    """Say, in the staff member's language, which character to remove and where it is."""
    if found.reason is Refusal.LINE_END:
        return gettext("Please write this on one line.")
    if found.reason is Refusal.BIDI:
        return gettext("Please remove the text-direction control character %(char)s "
                       "(character %(position)d): it changes the order the text is shown in.",
                       char=found.code, position=found.position)
    return gettext("Please remove the invisible control character %(char)s "
                   "(character %(position)d).", char=found.code, position=found.position)


def plain_text_problem(field: Field) -> str | None:
    """Return why a typed text field's value is refused, or None when it may be stored."""
    if not is_typed_text(field) or not isinstance(field.data, str):
        return None
    multiline = isinstance(field, TextAreaField)
    text = unify_line_ends(field.data) if multiline else field.data
    found = find_forbidden(text, multiline)
    return None if found is None else refusal_message(found)


class StaffForm(FlaskForm):
    """A FlaskForm whose typed text fields refuse control characters (see the module)."""

    def validate(self, extra_validators=None) -> bool:
        """Validate as usual, then check every typed text field's characters."""
        # After the fields' own chains, not inside them: Optional() stops a chain and clears
        # its errors when the value strips to nothing, and "\x1f".strip() is "".
        ok = super().validate(extra_validators)
        for field in self:
            problem = plain_text_problem(field)
            if problem is not None:
                field.errors = [*field.errors, problem]
                ok = False
        return ok
